// `prune-bench convert --in CHECKPOINT --out DIR`: PyTorch .bin checkpoints (LLaVA-HR publishes
// them) to safetensors, without executing anything from the pickle (docs/convert.md).
#include <fmt/core.h>

#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "io/torch_bin_convert.h"

namespace pb::app {

void setup_convert(CLI::App& app) {
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert PyTorch .bin checkpoints to safetensors (an allow-listed reader: no pickled code runs)");
  cmd->add_option("--in", *inputs,
                  "A .bin file (repeat for the shards of one model), a pytorch_model.bin.index.json, or a folder "
                  "holding pytorch_model.bin or that index")
      ->required();
  cmd->add_option("--out", *out, "Folder for the .safetensors files (and model.safetensors.index.json)")->required();
  cmd->callback([inputs, out] {
    const ConvertResult result = convert_torch_checkpoint(*inputs, *out, [](const ConvertedFile& f) {
      fmt::print("{} -> {} ({} tensors, {} bytes)\n", f.source, f.output, f.tensors, f.tensor_bytes);
    });
    if (!result.index.empty()) fmt::print("index: {}\n", result.index);
  });
}

}  // namespace pb::app
