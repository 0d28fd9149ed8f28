#include "pipeline/model_loader.h"

#include <ATen/Context.h>
#include <fmt/format.h>

#include <filesystem>

#include "core/cpu_features.h"
#include "core/error.h"

namespace pb {

std::string resolve_dtype(const std::string& dtype, const std::string& device) {
  if (dtype == "fp32" || dtype == "bf16") return dtype;
  if (dtype != "auto") throw Error(fmt::format("dtype '{}' is not supported (fp32, bf16, auto)", dtype));
  if (device == "cuda") return "bf16";
  return cpu_has_native_bf16() ? "bf16" : "fp32";
}

ModelOptions model_options(const ModelSource& source) {
  ModelOptions options;
  if (resolve_dtype(source.dtype, source.device) == "bf16") options.dtype = c10::kBFloat16;
  if (source.device == "cuda") {
    if (!at::hasCUDA()) throw Error("--device cuda: this LibTorch build or machine has no CUDA device");
    options.device = c10::Device(c10::kCUDA);
  } else if (source.device != "cpu") {
    throw Error(fmt::format("device '{}' is not supported (cpu, cuda)", source.device));
  }
  return options;
}

LlavaModel load_model(const ModelSource& source) {
  const ModelOptions options = model_options(source);
  set_threads(source.threads);
  if (source.random_weights) {
    return LlavaModel(LlavaModelImpl::random(load_llava_config(source.model), options, source.seed));
  }
  return LlavaModel(LlavaModelImpl::load(source.model, options));
}

std::string default_tokenizer_path(const std::string& model) {
  const std::filesystem::path p(model);
  const std::filesystem::path folder = std::filesystem::is_directory(p) ? p : p.parent_path();
  return (folder / "tokenizer.model").string();
}

}  // namespace pb
