// A sweep configuration (docs/sweeps.md) expanded into the points it runs: models x datasets x
// pruners (with parameters) x budgets, combined by product or zip, minus `exclude`, plus `include`,
// ordered so that all points of one model are consecutive (each model loads once).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "eval/run_options.h"

namespace pb {

struct SweepPoint {
  std::string id;         // folder name under points/: "<model>_<dataset>_<pruner>_<budget>", sanitised
  nlohmann::json labels;  // {"model", "dataset", "pruner", "budget"}: the names the config gives
  RunOptions options;     // what `prune-bench run` is told for this point (out set by the sweep)
};

struct SweepPlan {
  std::string name;
  std::string hash;  // of the expanded points (ids and options), for merge's "same sweep" check
  std::vector<SweepPoint> points;
};

// The axis keys of a configuration and the label key each one's entries match in include/exclude.
inline constexpr const char* kSweepAxes[] = {"models", "datasets", "pruners", "budgets"};

// pb::Error naming `source` and the offending member for anything malformed: unknown keys, empty
// or duplicate names, zip groups of different lengths, include entries naming unknown values,
// two points with the same id.
SweepPlan expand_sweep(const nlohmann::json& config, const std::string& source);
SweepPlan load_sweep(const std::string& path);

// The JSON of a point's options as `sweep.json` and `point.json` record them.
nlohmann::json point_to_json(const SweepPoint& point);

// Contiguous chunk i of N of the points (ceil(n / N) each), as `run --shard` splits samples.
std::vector<SweepPoint> shard_points(const std::vector<SweepPoint>& points, int index, int count);

}  // namespace pb
