#include "common_options.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <fmt/format.h>

#include <filesystem>
#include <thread>

#include "core/error.h"

namespace pb::app {

void add_model_options(CLI::App& cmd, ModelArgs& args) {
  cmd.add_option("--model", args.model, "Model folder (config.json + safetensors) or, with --random-weights, a config.json")
      ->required();
  cmd.add_option("--dtype", args.dtype, "Compute dtype")->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  cmd.add_option("--device", args.device, "Device")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd.add_option("--threads", args.threads, "Intra-op threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd.add_flag("--random-weights", args.random_weights, "Build the model from config.json alone with seeded random weights");
  cmd.add_option("--seed", args.seed, "Seed for --random-weights")->capture_default_str();
}

std::string model_folder(const std::string& model) {
  const std::filesystem::path p(model);
  return std::filesystem::is_directory(p) ? p.string() : p.parent_path().string();
}

LlavaModel load_model(const ModelArgs& args) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  at::set_num_threads(args.threads > 0 ? args.threads : static_cast<int>(cores));
  ModelOptions options;
  options.dtype = args.dtype == "bf16" ? c10::kBFloat16 : c10::kFloat;
  if (args.device == "cuda") {
    if (!at::hasCUDA()) {
      throw Error("--device cuda: this LibTorch build or machine has no CUDA device");
    }
    options.device = c10::Device(c10::kCUDA);
  }
  if (args.random_weights) {
    return LlavaModel(LlavaModelImpl::random(load_llava_config(args.model), options, args.seed));
  }
  return LlavaModel(LlavaModelImpl::load(args.model, options));
}

}  // namespace pb::app
