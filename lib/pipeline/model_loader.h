// Loading a model the way every command does: from a folder, or a config with seeded random weights,
// with the compute dtype, device and thread count applied.
#pragma once

#include <string>

#include "models/llava.h"
#include "pipeline/compute_runtime.h"  // set_threads

namespace pb {

struct ModelSource {
  std::string model;           // folder with config.json + weights, or (random_weights) a config.json
  bool random_weights = false;
  uint64_t seed = 0;
  std::string dtype = "fp32";  // "fp32" | "bf16" | "auto" (resolve_dtype)
  std::string device = "cpu";  // "cpu" | "cuda"
  int threads = 0;             // intra-op threads; 0 = every core (Debian's LibTorch starts with 1)
};

// "auto" becomes the faster compute dtype of this machine: bf16 on CUDA, and on a CPU only when it has
// native bf16 matrix instructions (AMX-BF16 or AVX512-BF16; without them oneDNN emulates bf16 and the
// embedded model trained 8x slower than in fp32 on an AVX2-only AMD EPYC, docs/evaluation.md).
// "fp32" and "bf16" are returned as given; anything else is a pb::Error.
std::string resolve_dtype(const std::string& dtype, const std::string& device);

ModelOptions model_options(const ModelSource& source);  // pb::Error for unknown dtype/device, no CUDA
LlavaModel load_model(const ModelSource& source);     // also sets the thread count
// tokenizer.model in the model's folder (the config's folder for a config.json path).
std::string default_tokenizer_path(const std::string& model);

}  // namespace pb
