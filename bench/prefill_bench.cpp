// Prefill throughput of prune-bench's LLaVA forward pass beside this machine's matmul peak, all
// measured in one run (the machine is shared and noisy: every figure is the best of --reps runs).
//
//   prefill_bench --config configs/models/llava-1.5-7b-hf.json --dtype bf16 [--decoder-layers N]
//   prefill_bench --config configs/models/llava-hr-7b.json --dtype bf16 --decoder-layers 2  (LLaVA-HR: both
//   vision branches and the adapters are in the "vision tower" row)
//
// Prints one table row per stage: time, FLOPs (exact convention: 2 per multiply-add) and GFLOP/s.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <c10/core/InferenceMode.h>
#include <fmt/core.h>

#include <chrono>
#include <functional>

#include "flops/flops.h"
#include "models/llava.h"
#include "pipeline/compute_runtime.h"
#include "spec/model_spec.h"

namespace {

double seconds_best_of(int reps, const std::function<void()>& fn) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double matmul_peak_gflops(c10::ScalarType dtype, int reps, int64_t n) {
  // n = 2048 by default: issue 9's reference shape, 2048 x 2048 x 2048
  const at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
  at::matmul(a, b);  // warm-up (oneDNN primitive creation)
  const double s = seconds_best_of(reps, [&] { at::matmul(a, b); });
  return 2.0 * n * n * n / s / 1e9;
}

void row(const std::string& what, double seconds, double flops, double peak) {
  const double gflops = flops / seconds / 1e9;
  fmt::print("| {:<28} | {:>10.1f} | {:>10.2f} | {:>9.1f} | {:>6.1f}% |\n", what, seconds * 1e3, flops / 1e9, gflops,
             100.0 * gflops / peak);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"prefill benchmark"};
  std::string config_path, model_dir, dtype_name = "bf16";
  int reps = 5, threads = 0;
  int64_t decoder_layers = 0, text_tokens = 60;
  app.add_option("--config", config_path, "config.json for a random-weight model");
  app.add_option("--model", model_dir, "model folder (real weights) instead of --config");
  app.add_option("--dtype", dtype_name)->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--reps", reps, "repetitions; the best is reported");
  int64_t peak_size = 2048;
  app.add_option("--peak-size", peak_size, "n of the n x n x n matmuls that measure the peaks (CI's smoke run: small)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", threads, "intra-op threads (default: all cores)");
  app.add_option("--decoder-layers", decoder_layers,
                 "build only N decoder layers and scale the LLM time to the full depth (0 = all)");
  app.add_option("--text-tokens", text_tokens, "text tokens around the image (LLaVA-1.5 VQA prompts: ~60)");
  CLI11_PARSE(app, argc, argv);

  pb::set_threads(threads);
  c10::InferenceMode guard;
  pb::ModelOptions options;
  options.dtype = dtype_name == "bf16" ? c10::kBFloat16 : c10::kFloat;

  pb::LlavaConfig cfg = model_dir.empty() ? pb::load_llava_config(config_path) : pb::load_llava_config(model_dir);
  const int64_t full_layers = cfg.text.num_hidden_layers;
  if (decoder_layers > 0 && decoder_layers < full_layers) cfg.text.num_hidden_layers = decoder_layers;
  const pb::LlavaModel model(model_dir.empty() ? pb::LlavaModelImpl::random(cfg, options, 0)
                                               : pb::LlavaModelImpl::load(model_dir, options));

  const double peak_fp32 = matmul_peak_gflops(c10::kFloat, reps, peak_size);
  const double peak_bf16 = matmul_peak_gflops(c10::kBFloat16, reps, peak_size);
  const double peak = options.dtype == c10::kBFloat16 ? peak_bf16 : peak_fp32;

  const int64_t n_image = model->image_tokens();
  const int64_t side = pb::model_image_size(cfg);  // 336; LLaVA-HR: input_image_size (1024)
  const at::Tensor pixels = at::randn({3, side, side});
  std::vector<int64_t> ids(static_cast<size_t>(text_tokens), 1);
  ids[static_cast<size_t>(text_tokens / 2)] = pb::kOriginalImagePlaceholder;  // image in the middle, as in LLaVA prompts
  const int64_t text = text_tokens - 1;

  pb::ImageFeatures image;
  const double t_vision = seconds_best_of(reps, [&] { image = model->encode_image(pixels); });
  const pb::SplicedPrompt prompt = model->splice(ids, image.image_embeds);
  const double t_prefill = seconds_best_of(reps, [&] {
    pb::Session session;
    model->prefill(prompt, session, nullptr, false, 1);
  });
  const double layer_scale = static_cast<double>(full_layers) / static_cast<double>(cfg.text.num_hidden_layers);
  cfg.text.num_hidden_layers = full_layers;
  const pb::FlopsBreakdown flops = pb::exact_flops(cfg, text, n_image);

  fmt::print("threads {}, dtype {}, {} image + {} text tokens, decoder layers built {} of {}\n", at::get_num_threads(),
             dtype_name, n_image, text, decoder_layers > 0 ? decoder_layers : full_layers, full_layers);
  fmt::print("matmul {}^3 peak: fp32 {:.1f} GFLOP/s, bf16 {:.1f} GFLOP/s\n\n", peak_size, peak_fp32, peak_bf16);
  fmt::print("| {:<28} | {:>10} | {:>10} | {:>9} | {:>7} |\n", "stage", "ms", "GFLOP", "GFLOP/s", "% peak");
  fmt::print("|{:-<30}|{:-<12}|{:-<12}|{:-<11}|{:-<9}|\n", "", "", "", "", "");
  row("vision tower + projector", t_vision, flops.vision + flops.projector, peak);
  row("LLM prefill (all layers)", t_prefill * layer_scale, flops.llm_prefill + flops.lm_head, peak);
  row("total prefill", t_vision + t_prefill * layer_scale, flops.total_prefill(), peak);
  return 0;
}
