// Options shared by the commands that run a model, and turning them into a loaded model.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "models/llava.h"

namespace pb::app {

struct ModelArgs {
  std::string model;           // folder with config.json + weights, or a config.json with --random-weights
  std::string dtype = "fp32";  // compute dtype
  std::string device = "cpu";
  int threads = 0;             // 0 = every core
  bool random_weights = false;
  uint64_t seed = 0;           // for --random-weights
};

void add_model_options(CLI::App& cmd, ModelArgs& args);
// Sets the LibTorch thread count (Debian's LibTorch starts with 1 thread) and loads the model.
LlavaModel load_model(const ModelArgs& args);
// The folder that holds the model's files (for the default tokenizer path).
std::string model_folder(const std::string& model);

}  // namespace pb::app
