// `sweep --emit-slurm FILE`: an sbatch array script for a sweep. `bash FILE` submits the array (task i
// runs shard i of N through `--shard auto`, all into one sweep folder, since shards never share a
// point) and a dependent job that checks the sweep and writes its report; `sbatch FILE` submits only
// the array. When shards failed, the dependent job names them and the exact command that resubmits
// only those array tasks (finished points and samples are skipped on resubmission).
#pragma once

#include <string>

#include "sweep/sweep_plan.h"

namespace pb {

struct SlurmOptions {
  int tasks = 0;              // array tasks (shards); 0 = one per point, at most 64
  int cpus_per_task = 2;
  std::string time = "04:00:00";  // sbatch --time
  std::string partition;      // "" = the cluster's default
  int gpus = 0;               // --gres=gpu:N when > 0
};

// The script text. `prune_bench`, `config`, `out` and `workdir` are made absolute by the caller.
std::string slurm_array_script(const SweepPlan& plan, const SlurmOptions& options, const std::string& prune_bench,
                               const std::string& config, const std::string& out, const std::string& workdir);

// Array task ids (shards of `shard_count`) holding a point that is not done in `out`.
std::vector<int> shards_with_missing_points(const SweepPlan& plan, const std::string& out, int shard_count);

}  // namespace pb
