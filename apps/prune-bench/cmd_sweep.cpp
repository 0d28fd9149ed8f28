// `prune-bench sweep --config FILE`: run every point of a sweep (resumable, shardable) or, with
// --status, list which points are done, pending or failed; see sweep/sweep_run.h, docs/sweeps.md.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "eval/run_options.h"
#include "io/atomic_file.h"
#include "sweep/slurm_script.h"
#include "sweep/sweep_run.h"

namespace pb::app {

namespace {

struct SweepArgs {
  std::string config, shard, out;
  bool status = false, quiet = false;
  int log_every = 50;
  std::string emit_slurm;
  SlurmOptions slurm;
  int missing_shards = 0;
};

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

void print_status(const std::vector<PointStatus>& points) {
  int done = 0, failed = 0, pending = 0;
  for (const PointStatus& p : points) {
    fmt::print("{:<8} {}{}\n", p.state, p.id, p.detail.empty() ? "" : "  (" + p.detail + ")");
    done += p.state == "done";
    failed += p.state == "failed";
    pending += p.state == "pending";
  }
  fmt::print("{} points: {} done, {} pending, {} failed\n", points.size(), done, pending, failed);
}

}  // namespace

void setup_sweep(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand("sweep", "Run a grid of models x datasets x pruners x budgets (resumable)");
  cmd->add_option("--config", a->config, "Sweep configuration (JSON; docs/sweeps.md)");
  cmd->add_option("--shard", a->shard, "i/N: this process runs the i-th of N contiguous chunks of points (or 'auto' under Slurm)");
  cmd->add_option("--out", a->out, "Sweep folder (default: results/sweep-<name>)");
  cmd->add_flag("--status", a->status, "List done / pending / failed points and exit");
  cmd->add_flag("--quiet", a->quiet, "No per-sample progress");
  cmd->add_option("--log-every", a->log_every, "Log a progress line every N samples when stderr is not a terminal")
      ->check(CLI::PositiveNumber);
  auto* emit = cmd->add_option("--emit-slurm", a->emit_slurm,
                               "Write an sbatch array script for this sweep instead of running it (docs/sweeps.md)");
  const std::string slurm_group = "Slurm (with --emit-slurm)";
  cmd->add_option("--array-tasks", a->slurm.tasks, "Array tasks = shards (default: one per point, at most 64)")
      ->check(CLI::PositiveNumber)->needs(emit)->group(slurm_group);
  cmd->add_option("--cpus-per-task", a->slurm.cpus_per_task, "sbatch --cpus-per-task (and the threads each task uses)")
      ->check(CLI::PositiveNumber)->needs(emit)->capture_default_str()->group(slurm_group);
  cmd->add_option("--time", a->slurm.time, "sbatch --time of each task")->needs(emit)->capture_default_str()->group(slurm_group);
  cmd->add_option("--partition", a->slurm.partition, "sbatch --partition (default: the cluster's)")->needs(emit)->group(slurm_group);
  cmd->add_option("--gpus", a->slurm.gpus, "GPUs per task (--gres=gpu:N)")->check(CLI::NonNegativeNumber)->needs(emit)->group(slurm_group);
  cmd->add_option("--missing-shards", a->missing_shards,
                  "Print the shards (of N) that hold a point not done, comma-separated; exit 1 if any (used by the Slurm script)")
      ->check(CLI::PositiveNumber);
  cmd->callback([a] {
    if (a->config.empty() && !(a->status && !a->out.empty())) {
      throw CLI::ValidationError("--config", "is required (or --status --out DIR for an existing sweep)");
    }
    if (a->config.empty()) {
      print_status(sweep_status(a->out, points_from_record(read_sweep_record(a->out))));
      return;
    }
    const SweepPlan plan = load_sweep(a->config);
    const std::string out = a->out.empty() ? (std::filesystem::path("results") / ("sweep-" + plan.name)).string() : a->out;
    if (a->status) {
      print_status(sweep_status(out, plan.points));
      return;
    }
    if (a->missing_shards > 0) {
      const std::vector<int> missing = shards_with_missing_points(plan, out, a->missing_shards);
      fmt::print("{}\n", fmt::join(missing, ","));
      if (!missing.empty()) exit_status() = 1;
      return;
    }
    if (!a->emit_slurm.empty()) {
      const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
      const std::string text = slurm_array_script(plan, a->slurm, self, absolute(a->config), absolute(out),
                                                  std::filesystem::current_path().string());
      write_file_atomic(a->emit_slurm, text);
      std::filesystem::permissions(a->emit_slurm, std::filesystem::perms::owner_exec | std::filesystem::perms::group_exec,
                                   std::filesystem::perm_options::add);
      fmt::print("wrote {}: `bash {}` submits the array and its finishing job\n", a->emit_slurm, a->emit_slurm);
      return;
    }
    SweepRunOptions o;
    o.out = out;
    if (!a->shard.empty()) parse_shard(a->shard, o.shard_index, o.shard_count);
    o.quiet = a->quiet;
    o.log_every = a->log_every;
    o.command_line = invocation();
    const SweepRunResult r = run_sweep(plan, o);
    fmt::print("sweep {}: {} points in this shard: {} ran, {} already done, {} failed; {} model load(s); {}\n", plan.name,
               r.points.size() + static_cast<size_t>(r.skipped), r.ran, r.skipped, r.failed, r.model_loads, out);
    if (r.failed > 0) {
      throw Error(fmt::format("sweep {}: {} point(s) failed (see `prune-bench sweep --status --out {}`)", plan.name,
                              r.failed, out));
    }
  });
}

}  // namespace pb::app
