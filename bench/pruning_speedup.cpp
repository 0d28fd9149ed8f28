// Measured LLM-prefill speed-up of each pruning method beside its FLOPs-predicted speed-up, on a
// model of real shape with random weights. One decoder layer is timed at every token count the
// methods produce and the times are composed over each method's per-layer schedule (all layers of
// a LLaMA decoder are the same shape, so this is the full-depth prefill without holding 32 layers).
//
//   pruning_speedup --config configs/models/llava-1.5-7b-hf.json --dtype bf16 --budgets 192,128,64
//
// Every figure is the best of --reps runs, all measured in this one run.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <c10/core/InferenceMode.h>
#include <fmt/core.h>

#include <sstream>

#include "flops/flops.h"
#include "layer_timing.h"
#include "models/llava.h"
#include "pipeline/compute_runtime.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"
#include "spec/model_spec.h"

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

// The visual tokens entering (and, for in-layer drops, leaving the attention of) each decoder layer,
// from the method's resolution (LLM-side methods report it; pre-LLM methods keep their count in
// every layer).
std::vector<pb::LayerTokens> schedule_of(const nlohmann::json& resolved, int64_t layers, int64_t n, int64_t kept) {
  if (resolved.contains("visual_tokens_per_layer")) {
    return pb::parse_schedule(resolved["visual_tokens_per_layer"], layers, n, "resolved schedule");
  }
  return pb::uniform_schedule(layers, kept);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pruning speed-up benchmark"};
  std::string config_path = "configs/models/llava-1.5-7b-hf.json", dtype_name = "bf16";
  std::string methods_arg, budgets_arg = "192,128,64";
  // FitPrune's budgets are recipes fitted to a FLOPs reduction; the published LLaVA-1.5 recipes
  // nearest to keeping 192/128/64 tokens before the LLM (-61/-71/-81% LLM FLOPs, pruners.md §6.2).
  std::string fitprune_budgets = "flops:0.6,flops:0.7,flops:0.8";
  int reps = 5, threads = 0;
  int64_t text_tokens = 60;
  app.add_option("--config", config_path, "config.json of the model shape");
  app.add_option("--dtype", dtype_name)->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--methods", methods_arg, "comma-separated pruner specs (default: every registered method)");
  app.add_option("--budgets", budgets_arg, "visual tokens kept, comma-separated");
  app.add_option("--fitprune-budgets", fitprune_budgets, "FitPrune's budgets, one per --budgets entry");
  app.add_option("--reps", reps);
  app.add_option("--threads", threads);
  app.add_option("--text-tokens", text_tokens, "text tokens around the image (LLaVA-1.5 VQA prompts: ~60)");
  CLI11_PARSE(app, argc, argv);
  pb::set_threads(threads);
  c10::InferenceMode guard;

  const pb::LlavaConfig full = pb::load_llava_config(config_path);
  const int64_t layers = full.text.num_hidden_layers, n = pb::image_tokens_per_image(full);
  // Three decoder layers: enough for LLM-side methods to act inside the model (FastV's default K = 2
  // selects after layer 1), so their selection time is measured too.
  constexpr int64_t kBuiltLayers = 3;
  pb::LlavaConfig built = full;
  built.text.num_hidden_layers = kBuiltLayers;
  pb::ModelOptions options;
  options.dtype = dtype_name == "bf16" ? c10::kBFloat16 : c10::kFloat;
  const pb::LlavaModel model(pb::LlavaModelImpl::random(built, options, 0));
  const auto& decoder = model->language_model();

  std::vector<std::string> methods = split(methods_arg);
  if (methods.empty()) {
    for (const pb::PrunerEntry& e : pb::pruner_registry()) {
      if (e.info.name != "none") methods.push_back(e.info.name);
    }
  }
  pb::bench::LayerTimer timer(decoder, full.text, kBuiltLayers, text_tokens, options.dtype, reps);
  auto composed_ms = [&](const std::vector<pb::LayerTokens>& schedule) { return timer.composed_ms(schedule); };
  auto predicted_flops = [&](const std::vector<pb::LayerTokens>& schedule) {
    return pb::llm_prefill_flops(full, text_tokens, schedule, pb::FlopsConvention::kExact);
  };
  const std::vector<pb::LayerTokens> unpruned = pb::uniform_schedule(layers, n);
  const double base_ms = composed_ms(unpruned), base_flops = predicted_flops(unpruned);
  const at::Tensor pixels = at::randn({3, full.vision.image_size, full.vision.image_size});
  std::vector<int64_t> ids(static_cast<size_t>(text_tokens), 1);
  ids[static_cast<size_t>(text_tokens / 2)] = pb::kOriginalImagePlaceholder;

  fmt::print("LLM prefill over {} layers, {} + {} text tokens, dtype {}, threads {}, best of {}\n", layers, n,
             text_tokens, dtype_name, at::get_num_threads(), reps);
  fmt::print("unpruned: {:.1f} ms composed ({:.1f} ms per layer)\n\n", base_ms, base_ms / static_cast<double>(layers));
  fmt::print("| {:<12} | {:>6} | {:>10} | {:>9} | {:>9} | {:>6} | {:>11} | {:>9} |\n", "method", "last", "prefill ms",
             "measured", "predicted", "ratio", "prune ms", "% prefill");
  fmt::print("|{:-<14}|{:-<8}|{:-<12}|{:-<11}|{:-<11}|{:-<8}|{:-<13}|{:-<11}|\n", "", "", "", "", "", "", "", "");
  const std::vector<std::string> token_budgets = split(budgets_arg), fit_budgets = split(fitprune_budgets);
  for (const std::string& method : methods) {
    for (size_t b = 0; b < token_budgets.size(); ++b) {
      const bool fitprune = method.rfind("fitprune", 0) == 0;
      const std::string budget = fitprune && b < fit_budgets.size() ? fit_budgets[b] : "tokens:" + token_budgets[b];
      std::unique_ptr<pb::Pruner> pruner;
      nlohmann::json resolved;
      try {
        pruner = pb::make_pruner(method, pb::Budget::parse(budget));
        resolved = pruner->resolve(full);
      } catch (const std::exception& e) {
        fmt::print("| {:<12} | {} | not measured: {}\n", method, budget, e.what());
        continue;
      }
      const std::vector<pb::LayerTokens> schedule = schedule_of(resolved, layers, n, pruner->nominal_kept());
      const double ms = composed_ms(schedule);
      // The method's own selection time, on the real vision tower and the built layers.
      double prune_ms = 1e30;
      for (int r = 0; r < reps; ++r) {
        pb::Session session;
        prune_ms = std::min(prune_ms, pb::run_pruned_prefill(*model, *pruner, "bench", pixels, ids, session, false, 1)
                                          .prune_ms);
      }
      const double measured = base_ms / ms, predicted = base_flops / predicted_flops(schedule);
      fmt::print("| {:<12} | {:>6} | {:>10.1f} | {:>8.2f}x | {:>8.2f}x | {:>6.2f} | {:>11.2f} | {:>8.2f}% |\n", method,
                 schedule.back().after_attn, ms, measured, predicted, measured / predicted, prune_ms,
                 100.0 * prune_ms / ms);
      std::fflush(stdout);
    }
  }
  return 0;
}
