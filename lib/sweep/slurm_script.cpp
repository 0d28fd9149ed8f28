#include "sweep/slurm_script.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "sweep/sweep_status.h"

namespace pb {

namespace {

// Single-quoted for bash (every ' becomes '\'').
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// sbatch options shared by the array and the dependent job.
std::string placement(const SlurmOptions& o) {
  std::string s;
  if (!o.partition.empty()) s += " --partition=" + quoted(o.partition);
  return s;
}

}  // namespace

std::string slurm_array_script(const SweepPlan& plan, const SlurmOptions& o, const std::string& prune_bench,
                               const std::string& config, const std::string& out, const std::string& workdir) {
  const int points = static_cast<int>(plan.points.size());
  PB_CHECK(points > 0, "sweep has no points");
  // One task per point by default: the most parallel a sweep can be (a point is one run), capped so a
  // big grid does not become thousands of tiny jobs each loading its model.
  const int tasks = std::min(points, o.tasks > 0 ? o.tasks : std::min(points, 64));
  std::string sbatch = fmt::format("#SBATCH --job-name=pb-{}\n#SBATCH --array=0-{}\n#SBATCH --cpus-per-task={}\n"
                                   "#SBATCH --time={}\n#SBATCH --output={}/slurm/%x-%A_%a.out\n",
                                   plan.name, tasks - 1, o.cpus_per_task, o.time, out);
  if (!o.partition.empty()) sbatch += "#SBATCH --partition=" + o.partition + "\n";
  if (o.gpus > 0) sbatch += fmt::format("#SBATCH --gres=gpu:{}\n", o.gpus);
  return fmt::format(
      R"(#!/bin/bash
# prune-bench sweep "{name}" ({points} points, plan {hash}) on Slurm, written by `prune-bench sweep
# --emit-slurm`. `bash` this file: submits the array (task i runs shard i of {tasks} with --shard auto,
# all into one sweep folder) and a dependent job that checks every point and writes the report.
# `sbatch` this file: the array alone. Resubmitting tasks skips finished points and samples.
{sbatch}set -euo pipefail
PB={pb}
CONFIG={config}
OUT={out}
cd {workdir}
export OMP_NUM_THREADS="${{SLURM_CPUS_PER_TASK:-{cpus}}}"
if [ -n "${{SLURM_ARRAY_TASK_ID:-}}" ]; then
  exec "$PB" sweep --config "$CONFIG" --out "$OUT" --shard auto --quiet
fi
if [ "${{1:-}}" = "--finish" ]; then
  SELF=${{SELF:-$(readlink -f "$0")}}
  # Every point done: write the report. Otherwise name the array tasks to resubmit and fail.
  if ! missing=$("$PB" sweep --config "$CONFIG" --out "$OUT" --missing-shards {tasks}); then
    echo "prune-bench: shards with missing points: $missing; resubmit them with:" >&2
    echo "  sbatch --array=$missing $SELF" >&2
    exit 1
  fi
  exec "$PB" report "$OUT" --out "$OUT/report"
fi
SELF=$(readlink -f "$0")
mkdir -p "$OUT/slurm"
array=$(sbatch --parsable "$SELF")
finish=$(sbatch --parsable --dependency=afterany:"$array" --job-name=pb-{name}-finish{placement} \
  --time={time} --output="$OUT/slurm/%x-%j.out" --export=ALL,SELF="$SELF" --wrap "bash $SELF --finish")
echo "submitted array job $array ({tasks} tasks) and its finishing job $finish; results in $OUT"
)",
      fmt::arg("name", plan.name), fmt::arg("points", points), fmt::arg("hash", plan.hash),
      fmt::arg("tasks", tasks), fmt::arg("sbatch", sbatch), fmt::arg("pb", quoted(prune_bench)),
      fmt::arg("config", quoted(config)), fmt::arg("out", quoted(out)), fmt::arg("workdir", quoted(workdir)),
      fmt::arg("cpus", o.cpus_per_task), fmt::arg("placement", placement(o)), fmt::arg("time", o.time));
}

std::vector<int> shards_with_missing_points(const SweepPlan& plan, const std::string& out, int shard_count) {
  std::vector<int> shards;
  for (int i = 0; i < shard_count; ++i) {
    for (const SweepPoint& p : shard_points(plan.points, i, shard_count)) {
      if (point_status(out, p).state != "done") {
        shards.push_back(i);
        break;
      }
    }
  }
  return shards;
}

}  // namespace pb
