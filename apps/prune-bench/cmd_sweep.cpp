// `prune-bench sweep --config FILE`: run every point of a sweep (resumable, shardable) or, with
// --status, list which points are done, pending or failed; see sweep/sweep_run.h, docs/sweeps.md.
#include <fmt/core.h>

#include <filesystem>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "eval/run_options.h"
#include "sweep/sweep_run.h"

namespace pb::app {

namespace {

struct SweepArgs {
  std::string config, shard, out;
  bool status = false, quiet = false;
  int log_every = 50;
};

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
