// `prune-bench merge DIR...`: one summary from the journals of a sharded run, or one sweep folder
// from the folders of a sharded sweep.
#include <fmt/core.h>

#include <filesystem>

#include <memory>

#include "command.h"
#include "eval/merge.h"
#include "sweep/sweep_run.h"

namespace pb::app {

void setup_merge(CLI::App& app) {
  auto folders = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("merge", "Combine the shards of a run (or of a sweep) into one");
  cmd->add_option("folders", *folders, "Run folders holding run.json and shard journals, or sweep folders")->required();
  cmd->add_option("--out", *out, "Folder for summary.json or the merged sweep (default: the first folder)");
  cmd->callback([folders, out] {
    if (std::filesystem::exists(std::filesystem::path(folders->front()) / "sweep.json")) {
      int done = 0;
      const std::vector<PointStatus> points = merge_sweeps(*folders, *out);
      for (const PointStatus& p : points) done += p.state == "done";
      fmt::print("merged sweep: {} of {} points done in {}\n", done, points.size(), out->empty() ? folders->front() : *out);
      return;
    }
    const nlohmann::json s = merge_runs(*folders, *out);
    fmt::print("merged {} samples ({} ok, {} failed) into {}/summary.json\n", s["counts"]["total"].get<int64_t>(),
               s["counts"]["ok"].get<int64_t>(), s["counts"]["failed"].get<int64_t>(),
               s["output_folder"].get<std::string>());
  });
}

}  // namespace pb::app
