// LLaVA-NeXT: measured LLM-prefill time of the unpruned model, FitPrune with the published NeXT recipe
// and G-Prune on base and grid, beside the FLOPs-predicted ratios, and the vision time of the tiles.
// The model has the config's real shape with random weights; one decoder layer is timed at every
// token count the methods produce and the times are composed over the 32 layers (layer_timing.h).
// The image is random pixels of --image size: only its size decides the tiles and the token count.
//
//   anyres_speedup --config tests/data/golden/configs/llava-v1.6-vicuna-7b-hf.json --image 672x672
//
// Every figure is the best of --reps runs, all measured in this one run.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <c10/core/InferenceMode.h>
#include <fmt/core.h>

#include <cstdio>

#include "core/error.h"
#include "flops/flops.h"
#include "flops/schedule.h"
#include "flops/visual_tokens.h"
#include "layer_timing.h"
#include "models/llava.h"
#include "pipeline/compute_runtime.h"
#include "pruners/pruner.h"
#include "spec/anyres_layout.h"
#include "spec/model_spec.h"

namespace {

struct Row {
  std::string method;
  std::vector<pb::LayerTokens> schedule;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LLaVA-NeXT pruning speed-up benchmark"};
  std::string config_path = "tests/data/golden/configs/llava-v1.6-vicuna-7b-hf.json", dtype_name = "bf16";
  std::string image = "672x672";
  int reps = 2, threads = 2;
  // LLaVA-1.5/NeXT VQA prompts: ~35 tokens before the image (FitPrune's hard-coded offset) + the question.
  int64_t text_tokens = 60;
  app.add_option("--config", config_path, "config.json of a LLaVA-NeXT model (its shape and pinpoints)");
  app.add_option("--dtype", dtype_name)->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--image", image, "WIDTHxHEIGHT of the image (decides the anyres grid)");
  app.add_option("--reps", reps, "timed runs per figure, after one warm-up");
  app.add_option("--threads", threads, "LibTorch intra-op threads");
  app.add_option("--text-tokens", text_tokens, "text tokens around the image");
  CLI11_PARSE(app, argc, argv);
  pb::set_threads(threads);
  c10::InferenceMode guard;

  const pb::LlavaConfig full = pb::load_llava_config(config_path);
  const auto x = image.find('x');
  const int width = std::stoi(image.substr(0, x)), height = std::stoi(image.substr(x + 1));
  const int tile = static_cast<int>(full.vision.image_size);
  const int64_t side = full.vision.image_size / full.vision.patch_size;  // 24 patches across a tile
  const pb::AnyresLayout layout =
      pb::select_anyres_layout(width, height, pb::anyres_pinpoints(full), pb::AnyresConvention::kOriginal, tile);
  const int64_t n = pb::anyres_image_tokens(width, height, layout, side);
  const int64_t layers = full.text.num_hidden_layers;

  // The vision tower, projector and one decoder layer of the real shape.
  constexpr int64_t kBuiltLayers = 1;
  pb::LlavaConfig built = full;
  built.text.num_hidden_layers = kBuiltLayers;
  pb::ModelOptions options;
  options.dtype = dtype_name == "bf16" ? c10::kBFloat16 : c10::kFloat;
  const pb::LlavaModel model(pb::LlavaModelImpl::random(built, options, 0));

  fmt::print("LLaVA-NeXT shape from {}: hidden {}, {} layers, {} heads, intermediate {}, vocab {}\n", config_path,
             full.text.hidden_size, layers, full.text.num_attention_heads, full.text.intermediate_size,
             full.text.vocab_size);
  fmt::print("image {}x{} -> {}x{} px, a {}x{} grid + base = {} tiles, {} visual tokens; {} text tokens\n", width,
             height, layout.width, layout.height, layout.grid_rows, layout.grid_cols, layout.tiles(), n, text_tokens);
  fmt::print("dtype {}, threads {}, best of {} after a warm-up\n\n", dtype_name, at::get_num_threads(), reps);
  std::fflush(stdout);

  // Vision: the tiles through CLIP and the projector, packed (encode_anyres's own stage times).
  const at::Tensor tiles = at::randn({layout.tiles(), 3, tile, tile});  // [tiles, 3, 336, 336] normalised
  pb::EncodeTimes best{1e30, 1e30};
  pb::AnyresFeatures packed;
  for (int r = 0; r <= reps; ++r) {  // the first run is the warm-up
    pb::EncodeTimes t;
    packed = model->encode_anyres(tiles, width, height, layout, {}, &t);
    if (r == 0) continue;
    best.vision_ms = std::min(best.vision_ms, t.vision_ms);
    best.projector_ms = std::min(best.projector_ms, t.projector_ms);
  }
  PB_CHECK(packed.image_embeds.size(0) == n, "anyres_speedup: packed rows differ from the layout's count");

  // FitPrune-60: the published NeXT recipe rescaled to this image's count.
  auto fitprune = pb::make_pruner("fitprune", pb::Budget::parse("flops:0.6"));
  fitprune->resolve_anyres(full);
  const nlohmann::json fit = fitprune->resolve_for_tokens(full, n);
  // G-Prune-50: its own selection on the packed embeddings, timed.
  auto gprune = pb::make_pruner("gprune", pb::Budget::parse("keep:0.5"));
  gprune->resolve_anyres(full);
  at::Tensor gkept;
  const double gprune_ms = pb::bench::best_ms(reps, [&] { gkept = gprune->select_packed(packed.image_embeds, packed.source); });

  const std::vector<Row> rows = {
      {"unpruned", pb::uniform_schedule(layers, n)},
      {"fitprune llava_next_60", pb::parse_schedule(fit["visual_tokens_per_layer"], layers, n, "fitprune schedule")},
      {"gprune keep 0.5", pb::uniform_schedule(layers, gkept.size(0))},
  };
  pb::bench::LayerTimer timer(model->language_model(), full.text, kBuiltLayers, text_tokens, options.dtype, reps);
  const double base_ms = timer.composed_ms(rows[0].schedule);
  const double base_flops = pb::llm_prefill_flops(full, text_tokens, rows[0].schedule, pb::FlopsConvention::kExact);
  fmt::print("| {:<22} | {:>6} | {:>6} | {:>11} | {:>9} | {:>9} | {:>6} | {:>9} |\n", "method", "in", "last",
             "prefill ms", "measured", "predicted", "ratio", "FLOPs cut");
  fmt::print("|{:-<24}|{:-<8}|{:-<8}|{:-<13}|{:-<11}|{:-<11}|{:-<8}|{:-<11}|\n", "", "", "", "", "", "", "", "");
  for (const Row& row : rows) {
    const double ms = timer.composed_ms(row.schedule);
    const double flops = pb::llm_prefill_flops(full, text_tokens, row.schedule, pb::FlopsConvention::kExact);
    const double measured = base_ms / ms, predicted = base_flops / flops;
    fmt::print("| {:<22} | {:>6} | {:>6} | {:>11.0f} | {:>8.2f}x | {:>8.2f}x | {:>6.2f} | {:>8.1f}% |\n", row.method,
               row.schedule.front().in, row.schedule.back().after_attn, ms, measured, predicted, measured / predicted,
               100.0 * (1.0 - flops / base_flops));
    std::fflush(stdout);
  }
  fmt::print("\nvision: CLIP tower on {} tiles {:.0f} ms, projector {:.0f} ms (exact FLOPs {:.3g} + {:.3g})\n",
             layout.tiles(), best.vision_ms, best.projector_ms,
             pb::exact_flops(full, text_tokens, n).vision * layout.tiles() / pb::vision_crops(full),
             pb::exact_flops(full, text_tokens, n).projector * layout.tiles() / pb::vision_crops(full));
  fmt::print("gprune selection on the packed embeddings: {:.0f} ms\n", gprune_ms);
  fmt::print("fitprune deletions for {} tokens: {}\n", n, fit["delete_per_layer"].dump());
  return 0;
}
