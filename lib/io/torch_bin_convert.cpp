// convert_torch_checkpoint: resolve the inputs to shards, open and cross-check them all, then write
// each as safetensors (tensors streamed one at a time) and the shard index last.
#include "io/torch_bin_convert.h"

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/torch_bin.h"

namespace pb {
namespace {

namespace fs = std::filesystem;

// transformers' file names (utils/__init__.py WEIGHTS_NAME, WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_INDEX_NAME).
constexpr const char* kBinSingle = "pytorch_model.bin";
constexpr const char* kBinIndex = "pytorch_model.bin.index.json";
constexpr const char* kSafetensorsIndex = "model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The shards to convert and, when they came from an index, what it says.
struct Plan {
  std::vector<std::string> shards;                // paths of the .bin files
  std::string index_path;                         // empty without an index
  nlohmann::json index_metadata = nlohmann::json::object();
  std::map<std::string, std::string> weight_map;  // tensor -> shard file name, from the index
};

Plan read_bin_index(const std::string& index_path) {
  Plan plan;
  plan.index_path = index_path;
  const nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(fmt::format("{}: not a shard index (expected an object with a \"weight_map\" object)", index_path));
  }
  if (index.contains("metadata")) {
    if (!index["metadata"].is_object()) throw Error(fmt::format("{}: \"metadata\" is not an object", index_path));
    plan.index_metadata = index["metadata"];
  }
  std::set<std::string> shard_names;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) {
      throw Error(fmt::format("{}: weight_map entry '{}' is {}, not a shard file name", index_path, tensor,
                              shard.type_name()));
    }
    const std::string name = shard.get<std::string>();
    // Shards must be plain file names beside the index: an index must not reach elsewhere.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\\') != std::string::npos) {
      throw Error(fmt::format("{}: weight_map entry '{}' names shard '{}', which is not a plain file name",
                              index_path, tensor, name));
    }
    plan.weight_map.emplace(tensor, name);
    shard_names.insert(name);
  }
  if (shard_names.empty()) throw Error(fmt::format("{}: weight_map is empty", index_path));
  const fs::path folder = fs::path(index_path).parent_path();
  for (const std::string& name : shard_names) plan.shards.push_back((folder / name).string());
  return plan;
}

Plan plan_inputs(const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw Error("convert: no input checkpoint given");
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (!fs::is_directory(input, ec)) {
      files.push_back(input);
      continue;
    }
    if (inputs.size() != 1) throw Error(fmt::format("{}: a folder must be the only input", input));
    if (fs::exists(fs::path(input) / kBinSingle, ec)) {
      files.push_back((fs::path(input) / kBinSingle).string());
    } else if (fs::exists(fs::path(input) / kBinIndex, ec)) {
      files.push_back((fs::path(input) / kBinIndex).string());
    } else {
      throw Error(fmt::format("{}: no {} or {} in this folder", input, kBinSingle, kBinIndex));
    }
  }
  for (const std::string& f : files) {
    if (!ends_with(f, ".index.json")) continue;
    if (files.size() != 1) throw Error(fmt::format("{}: a shard index must be the only input", f));
    return read_bin_index(f);
  }
  Plan plan;
  plan.shards = files;
  return plan;
}

// The tensors of every shard are disjoint and, with an index, exactly the ones it maps to that shard
// (the rules Checkpoint::open applies to the output).
void cross_check(const Plan& plan, const std::vector<std::shared_ptr<TorchBinFile>>& bins) {
  std::map<std::string, const TorchBinFile*> owner;
  for (const auto& bin : bins) {
    const std::string shard_name = fs::path(bin->path()).filename().string();
    for (const TorchTensor& t : bin->tensors()) {
      const auto [it, added] = owner.emplace(t.name, bin.get());
      if (!added) {
        throw Error(fmt::format("tensor '{}' is in both {} and {}", t.name, it->second->path(), bin->path()));
      }
      if (plan.index_path.empty()) continue;
      const auto mapped = plan.weight_map.find(t.name);
      if (mapped == plan.weight_map.end()) {
        throw Error(fmt::format("{}: tensor '{}' is not listed in {}", bin->path(), t.name, plan.index_path));
      }
      if (mapped->second != shard_name) {
        throw Error(fmt::format("{}: tensor '{}' is in {} but the index maps it to {}", plan.index_path, t.name,
                                shard_name, mapped->second));
      }
    }
  }
  for (const auto& [tensor, shard] : plan.weight_map) {
    if (owner.count(tensor) == 0) {
      throw Error(fmt::format("{}: tensor '{}' is mapped to {} but is not in it", plan.index_path, tensor, shard));
    }
  }
}

}  // namespace

std::string safetensors_name_for(const std::string& bin_file_name) {
  std::string name = bin_file_name;
  for (const char* ext : {".bin", ".pth", ".pt"}) {
    if (ends_with(name, ext)) {
      name.resize(name.size() - std::string(ext).size());
      break;
    }
  }
  const std::string kPrefix = "pytorch_model";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) name = "model" + name.substr(kPrefix.size());
  return name + ".safetensors";
}

ConvertResult convert_torch_checkpoint(const std::vector<std::string>& inputs, const std::string& out_dir,
                                       const std::function<void(const ConvertedFile&)>& on_file) {
  const Plan plan = plan_inputs(inputs);
  std::vector<std::shared_ptr<TorchBinFile>> bins;
  std::map<std::string, std::string> output_of;  // output file name -> source, to catch clashes
  for (const std::string& shard : plan.shards) {
    bins.push_back(TorchBinFile::open(shard));
    const std::string out_name = safetensors_name_for(fs::path(shard).filename().string());
    const auto [it, added] = output_of.emplace(out_name, shard);
    if (!added) {
      throw Error(fmt::format("{} and {} would both be written to {}", it->second, shard, out_name));
    }
  }
  cross_check(plan, bins);

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create the output folder: {}", out_dir, ec.message()));

  // transformers marks converted files this way (modeling_utils.py save_pretrained: {"format": "pt"}).
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  ConvertResult result;
  nlohmann::json weight_map = nlohmann::json::object();
  uint64_t total_bytes = 0;
  for (const auto& bin : bins) {
    ConvertedFile done;
    done.source = bin->path();
    const std::string out_name = safetensors_name_for(fs::path(bin->path()).filename().string());
    done.output = (fs::path(out_dir) / out_name).string();
    std::vector<TensorSource> sources;
    for (const TorchTensor& t : bin->tensors()) {
      const TorchBinFile* file = bin.get();
      sources.push_back(TensorSource{t.name, t.dtype, t.shape, [file, &t](const ByteSink& write) {
                                       file->read_contents(t, write);
                                     }});
      done.tensor_bytes += t.nbytes;
      weight_map[t.name] = out_name;
    }
    done.tensors = sources.size();
    write_safetensors_streamed(done.output, sources, metadata);
    total_bytes += done.tensor_bytes;
    if (on_file) on_file(done);
    result.files.push_back(std::move(done));
  }

  if (bins.size() > 1 || !plan.index_path.empty()) {
    nlohmann::json index_metadata = plan.index_metadata;
    index_metadata["total_size"] = total_bytes;  // what the safetensors shards hold
    const nlohmann::json index = {{"metadata", index_metadata}, {"weight_map", weight_map}};
    result.index = (fs::path(out_dir) / kSafetensorsIndex).string();
    write_file_atomic(result.index, index.dump(2) + "\n");
  }
  return result;
}

}  // namespace pb
