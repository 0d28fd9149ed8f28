// Turning journal records into the summary a reader can trust: counts, accuracy with a bootstrap
// CI, breakdowns, FLOPs from the token counts actually observed, latency percentiles, peak memory.
// Used by `run` (one shard) and `merge` (all shards), so both give the same numbers.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "io/model_config.h"

namespace pb {

constexpr int kSummarySchemaVersion = 1;

// The last record of each key (a re-run sample replaces its earlier record), sorted by key.
std::vector<nlohmann::json> latest_records(const std::vector<nlohmann::json>& records);

struct SummaryInputs {
  nlohmann::json run;            // run.json: config, config_hash, protocol, plan, ...
  nlohmann::json context;        // where and how it ran (git, versions, CPU, threads, ...)
  const LlavaConfig* model = nullptr;  // for FLOPs
  int64_t total_samples = 0;     // samples this summary covers (selected, in this shard or all)
};

nlohmann::json summarize(const std::vector<nlohmann::json>& records, const SummaryInputs& inputs);

// Nearest-rank percentile (p in [0, 100]) of unsorted values; NaN when empty.
double percentile(std::vector<double> values, double p);

}  // namespace pb
