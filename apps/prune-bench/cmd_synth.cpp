// `prune-bench synth`: generate a SynthVQA split in the official VQAv2 / GQA / TextVQA formats.
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "synth/synth_writer.h"

namespace pb::app {

void setup_synth(CLI::App& app) {
  auto req = std::make_shared<synth::SplitRequest>();
  CLI::App* cmd = app.add_subcommand("synth", "Generate a SynthVQA split (images, questions, ten answers each)");
  cmd->add_option("--out", req->out_dir, "Output folder")->required();
  cmd->add_option("--split", req->split, "Split: independent streams per name")
      ->check(CLI::IsMember({"train", "val", "test"}))->required();
  cmd->add_option("--n", req->n, "Questions (one image each)")->check(CLI::PositiveNumber)->required();
  cmd->add_option("--seed", req->seed, "Seed")->capture_default_str();
  cmd->callback([req] {
    const nlohmann::json summary = synth::write_split(*req);
    fmt::print("{}\n", summary.dump(2));
  });
}

}  // namespace pb::app
