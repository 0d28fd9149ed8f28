// Running a sweep: every point of the plan (or of this shard's share) as a `run` folder under
// <out>/points/<id>, in plan order so each model loads once. Finished points are skipped and an
// interrupted one resumes from its journal; a point that fails is recorded in its error.json and
// the sweep goes on.
#pragma once

#include <string>
#include <vector>

#include "sweep/sweep_plan.h"
#include "sweep/sweep_status.h"

namespace pb {

struct SweepRunOptions {
  std::string out;                 // the sweep folder
  int shard_index = 0, shard_count = 1;
  bool quiet = false;              // no per-sample progress from the runs
  int log_every = 50;
  std::string command_line;
};

struct SweepRunResult {
  std::vector<PointStatus> points;  // this shard's points after the run
  int skipped = 0, ran = 0, failed = 0;
  int model_loads = 0;
};

// Writes <out>/sweep.json (the expanded plan) and runs the shard's points.
SweepRunResult run_sweep(const SweepPlan& plan, const SweepRunOptions& options);

// `prune-bench merge` for sweeps: every point of the (identical) plan, from whichever folder has it
// done, copied into `out` (default: the first folder); writes <out>/sweep.json and returns the
// status of every point. pb::Error when the folders hold different plans.
std::vector<PointStatus> merge_sweeps(const std::vector<std::string>& folders, const std::string& out);

}  // namespace pb
