#include "common_options.h"

#include "core/embedded_defaults.h"

namespace pb::app {

void add_model_options(CLI::App& cmd, ModelSource& args) {
  args.model = embedded_model_dir();
  cmd.add_option("--model", args.model,
                 "Model folder (config.json + safetensors) or, with --random-weights, a config.json "
                 "(default: the embedded SynthVQA model)");
  cmd.add_option("--dtype", args.dtype, "Compute dtype; auto: bf16 on CUDA or a CPU with native bf16 (AMX, AVX512-BF16), else fp32")->check(CLI::IsMember({"fp32", "bf16", "auto"}))->capture_default_str();
  cmd.add_option("--device", args.device, "Device")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd.add_option("--threads", args.threads, "Intra-op threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd.add_flag("--random-weights", args.random_weights,
               "Build the model from config.json alone with seeded random weights");
  cmd.add_option("--seed", args.seed, "Seed for --random-weights")->capture_default_str();
}

}  // namespace pb::app
