// `prune-bench merge DIR...`: one summary from the journals of a sharded run.
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "eval/merge.h"

namespace pb::app {

void setup_merge(CLI::App& app) {
  auto folders = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("merge", "Combine the shards of a run into one summary");
  cmd->add_option("folders", *folders, "Run folders holding run.json and shard journals")->required();
  cmd->add_option("--out", *out, "Folder for summary.json (default: the first folder)");
  cmd->callback([folders, out] {
    const nlohmann::json s = merge_runs(*folders, *out);
    fmt::print("merged {} samples ({} ok, {} failed) into {}/summary.json\n", s["counts"]["total"].get<int64_t>(),
               s["counts"]["ok"].get<int64_t>(), s["counts"]["failed"].get<int64_t>(),
               s["output_folder"].get<std::string>());
  });
}

}  // namespace pb::app
