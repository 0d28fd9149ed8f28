// All tensors of a model: one safetensors file, or the shards listed by model.safetensors.index.json.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace pb {

// Tensor names are the file's own (llava-hf legacy, newer transformers or original LLaVA naming,
// see docs/checkpoints.md); mapping them to model parameters is the model loader's job.
class Checkpoint {
 public:
  // `path_or_dir` is a .safetensors file, a *.safetensors.index.json, or a folder holding
  // model.safetensors or model.safetensors.index.json (checked in that order, as transformers does).
  // With an index, every shard it lists is opened and must hold exactly the tensors the index maps
  // to it. pb::Error for missing shards, tensors missing from their shard, tensors in two shards,
  // shard tensors the index does not list, or any invalid file.
  static Checkpoint open(const std::string& path_or_dir);

  const TensorView* find(const std::string& name) const;  // nullptr if absent
  std::vector<std::string> names() const;                 // sorted
  size_t size() const { return tensors_.size(); }         // number of tensors
  size_t total_bytes() const;                             // sum of tensor data bytes
  // The open files (one, or the shards in index order); views stay valid while these live.
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  const std::string& source() const { return source_; }  // the file or index that was opened

 private:
  std::string source_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> tensors_;
};

}  // namespace pb
