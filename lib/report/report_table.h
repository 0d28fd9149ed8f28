// `prune-bench report`: the method x budget table over datasets, relative accuracy to the unpruned
// run, efficiency, and the Pareto frontiers of accuracy vs FLOPs and vs prefill time (docs/sweeps.md).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "report/run_results.h"

namespace pb {

struct ReportOptions {
  std::string baseline = "none";  // method label (or pruner name) of the unpruned reference runs
  std::string flops = "exact";    // FLOPs convention of the FLOPs column (flops/flops.h)
};

struct ReportCell {          // one dataset of one row
  std::shared_ptr<const RunResult> run;  // null: this row has no run on the dataset
  double relative = 0;       // accuracy / the baseline's on this model and dataset, x100 (NaN: none)
};

struct ReportRow {
  std::string model, method, budget;
  bool is_baseline = false;
  std::vector<ReportCell> cells;  // one per Report::datasets entry (run == nullptr: missing)
  double mean_relative;           // over the datasets the row has (NaN without a baseline)
  double mean_visual_tokens, llm_prefill_flops, prefill_ms_p50;  // means over the row's datasets
};

struct ParetoEntry {
  std::string model, dataset, axis;  // axis: "flops" or "prefill_ms"
  std::string method, budget;
  double cost, accuracy;
};

struct Report {
  std::vector<std::string> datasets;  // column order: first appearance
  std::vector<ReportRow> rows;        // model, baseline first, then methods in first-appearance order, budgets by FLOPs descending
  std::vector<ParetoEntry> pareto;    // frontier members per model x dataset x axis
  ReportOptions options;
};

// pb::Error when two runs have the same model, dataset, method and budget, or the convention is unknown.
Report build_report(const std::vector<RunResult>& runs, const ReportOptions& options);
std::string report_markdown(const Report& report);
std::string report_csv(const Report& report);
std::string pareto_csv(const Report& report);

}  // namespace pb
