// `prune-bench compare BASE CAND`: did the candidate run get worse than the base on the same
// questions? Samples are aligned by dataset key; the test is one-sided (alternative: the candidate's
// accuracy is lower): exact binomial McNemar for 0/1 metrics (GQA), paired bootstrap (10,000
// resamples, seed 0) for VQA soft scores. A regression is p < alpha AND a drop of more than
// max_drop accuracy points. docs/sweeps.md.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pb {

struct CompareOptions {
  double alpha = 0.05;
  double max_drop = 0.0;  // accuracy points (x100) the candidate may lose before it can be a regression
  int top = 10;           // flipped questions listed per direction
  int resamples = 10000;  // paired bootstrap
  uint64_t seed = 0;
};

// True for metrics whose per-sample scores are 0 or 1 (the GQA exact-match modes): McNemar applies.
bool binary_metric(const std::string& metric);

// The comparison as JSON (docs/sweeps.md lists the fields); "regression" is the verdict.
// pb::Error when a folder is not a finished run, the metrics differ, or no sample is scored in both.
nlohmann::json compare_runs(const std::string& base_folder, const std::string& candidate_folder,
                            const CompareOptions& options);
std::string compare_markdown(const nlohmann::json& comparison);

}  // namespace pb
