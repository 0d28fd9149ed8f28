#include "io/checkpoint.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/json_file.h"

namespace pb {
namespace {

namespace fs = std::filesystem;

// File names transformers uses (SAFE_WEIGHTS_NAME / SAFE_WEIGHTS_INDEX_NAME in utils/constants).
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Shard names must be plain file names in the index's folder: an index must not reach elsewhere.
void check_shard_name(const std::string& shard, const std::string& index_path, const std::string& tensor) {
  if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
      shard.find('\\') != std::string::npos) {
    throw Error(fmt::format("{}: weight_map entry '{}' names shard '{}', which is not a plain file name", index_path,
                            tensor, shard));
  }
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& path_or_dir) {
  std::error_code ec;
  const fs::path input(path_or_dir);
  std::string index_path;
  std::string single_path;
  if (fs::is_directory(input, ec)) {
    if (fs::exists(input / kSingleFile, ec)) {
      single_path = (input / kSingleFile).string();
    } else if (fs::exists(input / kIndexFile, ec)) {
      index_path = (input / kIndexFile).string();
    } else {
      const bool pickle = fs::exists(input / "pytorch_model.bin", ec) ||
                          fs::exists(input / "pytorch_model.bin.index.json", ec);
      throw Error(fmt::format("{}: no {} or {} in this folder{}", path_or_dir, kSingleFile, kIndexFile,
                              pickle ? " (PyTorch .bin weights: convert them with `prune-bench convert`)" : ""));
    }
  } else if (ends_with(path_or_dir, ".index.json")) {
    index_path = path_or_dir;
  } else {
    single_path = path_or_dir;
  }

  Checkpoint ckpt;
  if (!single_path.empty()) {
    ckpt.source_ = single_path;
    ckpt.files_.push_back(SafetensorsFile::open(single_path));
    for (const TensorView& t : ckpt.files_[0]->tensors()) ckpt.tensors_.emplace(t.name, &t);
    return ckpt;
  }

  ckpt.source_ = index_path;
  const nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(fmt::format("{}: not a shard index (expected an object with a \"weight_map\" object)", index_path));
  }
  // metadata.total_size is not checked: writers have computed it in different ways over time.
  const nlohmann::json& weight_map = index["weight_map"];
  std::map<std::string, std::vector<std::string>> tensors_of_shard;  // shard -> tensor names
  std::vector<std::string> shard_order;
  for (const auto& [tensor, shard] : weight_map.items()) {
    if (!shard.is_string()) {
      throw Error(fmt::format("{}: weight_map entry '{}' must be a shard file name, got {}", index_path, tensor,
                              shard.dump()));
    }
    const std::string name = shard.get<std::string>();
    check_shard_name(name, index_path, tensor);
    auto [it, inserted] = tensors_of_shard.try_emplace(name);
    if (inserted) shard_order.push_back(name);
    it->second.push_back(tensor);
  }
  if (weight_map.empty()) throw Error(fmt::format("{}: weight_map is empty", index_path));

  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, std::string> shard_of;  // tensor -> shard that holds it
  for (const std::string& shard : shard_order) {
    const std::string shard_path = (dir / shard).string();
    if (!fs::exists(shard_path, ec)) {
      throw Error(fmt::format("{}: shard '{}' listed in the index does not exist ({})", index_path, shard,
                              shard_path));
    }
    auto file = SafetensorsFile::open(shard_path);
    for (const std::string& tensor : tensors_of_shard[shard]) {
      if (file->find(tensor) == nullptr) {
        throw Error(fmt::format("{}: tensor '{}' is mapped to shard {}, which does not contain it", index_path,
                                tensor, shard_path));
      }
    }
    for (const TensorView& t : file->tensors()) {
      if (auto [it, inserted] = shard_of.emplace(t.name, shard); !inserted) {
        throw Error(fmt::format("{}: tensor '{}' is stored in two shards, {} and {}", index_path, t.name, it->second,
                                shard));
      }
      const auto mapped = weight_map.find(t.name);
      if (mapped == weight_map.end()) {
        throw Error(fmt::format("{}: tensor '{}' in shard {} is not listed in the index weight_map", index_path,
                                t.name, shard_path));
      }
      if (mapped->get<std::string>() != shard) {
        throw Error(fmt::format("{}: tensor '{}' is in shard {} but the index maps it to {}", index_path, t.name,
                                shard, mapped->get<std::string>()));
      }
      ckpt.tensors_.emplace(t.name, &t);
    }
    ckpt.files_.push_back(std::move(file));
  }
  return ckpt;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, view] : tensors_) out.push_back(name);
  return out;
}

size_t Checkpoint::total_bytes() const {
  size_t total = 0;
  for (const auto& [name, view] : tensors_) total += view->nbytes;
  return total;
}

}  // namespace pb
