// PyTorch `.bin` checkpoints (one file, or shards with pytorch_model.bin.index.json) to safetensors
// (one file, or shards with model.safetensors.index.json, as transformers names them). Nothing from
// the checkpoint is executed (io/torch_bin.h). Usage and rules: docs/convert.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pb {

struct ConvertedFile {
  std::string source;  // the .bin
  std::string output;  // the .safetensors written
  size_t tensors = 0;
  uint64_t tensor_bytes = 0;  // sum of the tensors' contents
};

struct ConvertResult {
  std::vector<ConvertedFile> files;  // in input (or index shard) order
  std::string index;                 // model.safetensors.index.json, or empty for a single file
};

// The safetensors name for a .bin shard, as transformers names them: "pytorch_model" becomes
// "model" and the extension (.bin, .pt, .pth) ".safetensors":
// pytorch_model-00001-of-00002.bin -> model-00001-of-00002.safetensors, mm_projector.bin ->
// mm_projector.safetensors.
std::string safetensors_name_for(const std::string& bin_file_name);

// `inputs`: one or more .bin files, or exactly one pytorch_model.bin.index.json, or exactly one
// folder holding pytorch_model.bin or pytorch_model.bin.index.json. Every input is opened and
// checked before anything is written; then each shard is written atomically to `out_dir` (created if
// missing), and for several shards the index last, so a failure never leaves a half-written file or
// an index naming missing shards. `on_file` is called after each file is written. Throws pb::Error
// naming the file at fault.
ConvertResult convert_torch_checkpoint(const std::vector<std::string>& inputs, const std::string& out_dir,
                                       const std::function<void(const ConvertedFile&)>& on_file = {});

}  // namespace pb
