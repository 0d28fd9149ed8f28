// The finished runs `report` and `compare` read: a run folder's summary.json, run.json and (for a
// sweep point) point.json, reduced to the labels and numbers the tables need. No LibTorch.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace pb {

struct RunResult {
  std::string folder;
  // Labels: a sweep point's names from point.json; otherwise derived from the run's configuration
  // (model file or folder name, dataset kind, pruner spec, budget text or "default").
  std::string model, dataset, method, budget;
  std::string pruner;          // registry name of the method ("none" for the unpruned model)
  std::string metric;          // metric mode
  double accuracy;             // x100; NaN when nothing was scored
  double mean_visual_tokens;   // entering the LLM
  double prefill_ms_p50;       // measured LLM prefill, median over samples
  std::map<std::string, double> llm_prefill_flops;  // convention -> mean per sample
  int64_t total = 0, failed = 0, pending = 0;
  nlohmann::json summary;
};

// Reads one run folder (pb::Error when it has no summary.json).
RunResult read_run_result(const std::string& folder);

// Every run folder (a folder with summary.json and run.json) at or below each of `paths`, in
// path order; a sweep folder contributes its points. pb::Error when a path has none.
std::vector<RunResult> collect_run_results(const std::vector<std::string>& paths);

}  // namespace pb
