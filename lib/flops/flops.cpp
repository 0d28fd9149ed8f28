#include "flops/flops.h"

#include <fmt/format.h>

#include "core/error.h"
#include "flops/visual_tokens.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

// One row per convention: the explicit registry. A convention is what it multiplies by per
// multiply-add, how many FFN matrices it counts and whether text tokens are in n.
struct ConventionInfo {
  FlopsConvention convention;
  const char* name;
  const char* description;
  const char* source;
  double flops_per_mac;
  int64_t mlp_matrices;
  bool counts_text;
};

const ConventionInfo kConventions[] = {
    {FlopsConvention::kExact, "exact",
     "FLOPs (2 per multiply-add) of every matmul prune-bench runs: vision layers run, projector, Q/K/V/O "
     "(GQA), full n x context attention, 3-matrix SwiGLU, LM head on the last position; norms ignored",
     "prune-bench lib/models (llama.cpp, clip_vision.cpp, projector.cpp): eager attention computes the "
     "whole masked score matrix",
     2.0, 3, true},
    {FlopsConvention::kFastV, "fastv",
     "FastV: 4nd^2 + 2n^2d + 2ndm per decoder layer, n = all prompt tokens, 1 FLOP per multiply-add, "
     "LLM prefill only",
     "FastV paper (Chen et al., arXiv 2403.06764, FLOPs estimate of the prefill stage); followed by DART "
     "(arXiv 2502.11494, App. D)",
     1.0, 2, true},
    {FlopsConvention::kFitPrune, "fitprune",
     "FitPrune: 4nd^2 + 2n^2d + 3ndm per decoder layer, n = image tokens only, 1 FLOP per multiply-add, "
     "LLM prefill only (PyramidDrop's TFLOPs use the same)",
     "ywh187/FitPrune LLaVA_1.5/llava/eval/statistical_analysis.py (calculate_origin_flops, rest_flops, "
     "fit_model)",
     1.0, 3, false},
};

const ConventionInfo& info(FlopsConvention convention) {
  for (const ConventionInfo& c : kConventions) {
    if (c.convention == convention) return c;
  }
  throw Error(fmt::format("unknown FLOPs convention {}", static_cast<int>(convention)));
}

double d(int64_t v) { return static_cast<double>(v); }

}  // namespace

std::vector<FlopsConvention> all_flops_conventions() {
  std::vector<FlopsConvention> out;
  for (const ConventionInfo& c : kConventions) out.push_back(c.convention);
  return out;
}

FlopsConvention flops_convention_from_name(const std::string& name) {
  std::string names;
  for (const ConventionInfo& c : kConventions) {
    if (name == c.name) return c.convention;
    names += names.empty() ? c.name : fmt::format(", {}", c.name);
  }
  throw Error(fmt::format("unknown FLOPs convention '{}'. Available: {}", name, names));
}

const char* flops_convention_name(FlopsConvention convention) { return info(convention).name; }
const char* flops_convention_description(FlopsConvention convention) { return info(convention).description; }
const char* flops_convention_source(FlopsConvention convention) { return info(convention).source; }
double flops_per_multiply_add(FlopsConvention convention) { return info(convention).flops_per_mac; }
bool flops_convention_counts_text(FlopsConvention convention) { return info(convention).counts_text; }

double linear_flops(int64_t n, int64_t d_in, int64_t d_out) { return 2.0 * d(n) * d(d_in) * d(d_out); }

DecoderLayerMacs decoder_layer_macs(const TextConfig& text, int64_t rows_in, int64_t rows_out, int64_t context,
                                    int64_t mlp_matrices) {
  const int64_t hidden = text.hidden_size;
  const int64_t q_width = text.num_attention_heads * text.head_dim;
  const int64_t kv_width = text.num_key_value_heads * text.head_dim;
  DecoderLayerMacs m;
  m.qkv = d(rows_in) * d(hidden) * d(q_width + 2 * kv_width);
  // Per head: scores [rows, hd] x [hd, context], then [rows, context] x [context, hd]. GQA shares
  // K/V between heads but every query head still does both products.
  m.attention = 2.0 * d(rows_in) * d(context) * d(q_width);
  m.o_proj = d(rows_out) * d(q_width) * d(hidden);
  m.mlp = d(mlp_matrices) * d(rows_out) * d(hidden) * d(text.intermediate_size);
  return m;
}

double llama_layer_flops(const TextConfig& text, int64_t n, int64_t context) {
  return 2.0 * decoder_layer_macs(text, n, n, context, /*mlp_matrices=*/3).total();
}

double decoder_layer_flops(const LlavaConfig& cfg, int64_t text_tokens, const LayerTokens& visual,
                           FlopsConvention convention) {
  const ConventionInfo& c = info(convention);
  const int64_t text = c.counts_text ? text_tokens : 0;
  const int64_t rows_in = text + visual.in, rows_out = text + visual.after_attn;
  // Every convention counts the full rows_in x rows_in score matrix: FastV's and FitPrune's 2n^2d,
  // and for exact what prune-bench's eager masked attention computes (lib/models/llama.cpp).
  return c.flops_per_mac * decoder_layer_macs(cfg.text, rows_in, rows_out, rows_in, c.mlp_matrices).total();
}

double llm_prefill_flops(const LlavaConfig& cfg, int64_t text_tokens, const std::vector<LayerTokens>& schedule,
                         FlopsConvention convention) {
  if (text_tokens < 0) throw Error(fmt::format("FLOPs: text_tokens {} must be >= 0", text_tokens));
  check_schedule(schedule, cfg.text.num_hidden_layers, fmt::format("FLOPs of {}", cfg.source));
  double total = 0;
  for (const LayerTokens& t : schedule) total += decoder_layer_flops(cfg, text_tokens, t, convention);
  return total;
}

double convnext_flops(const ConvNextConfig& n, int64_t image_size) {
  int64_t side = image_size / 4;  // stem: 4x4 stride-4 conv
  double total = linear_flops(side * side, 3 * 4 * 4, n.dims[0]);
  for (size_t i = 0; i < 4; ++i) {
    const int64_t c = n.dims[i];
    if (i > 0) {
      side /= 2;  // downsample: 2x2 stride-2 conv
      total += linear_flops(side * side, 4 * n.dims[i - 1], c);
    }
    const int64_t positions = side * side;
    // Block: 7x7 depthwise conv (49 MACs per position and channel), Linear C->4C, Linear 4C->C.
    const double block = 2.0 * d(positions) * d(c) * 49 + linear_flops(positions, c, 4 * c) +
                         linear_flops(positions, 4 * c, c);
    total += d(n.depths[i]) * block;
  }
  return total;
}

double hr_adapter_flops(const LlavaConfig& cfg) {
  const int64_t grid = image_grid_side(cfg), n = grid * grid, slow = cfg.hr.slow_grid() * cfg.hr.slow_grid();
  const int64_t dv = cfg.vision.hidden_size, cs = cfg.hr.slow.dims[3];
  // S2FStitchAlignModuleV2: slow 1x1 convs Cs->Cs and Cs->Dv on the ConvNeXt map, fast 7x7 depthwise
  // and 1x1 Dv->Dv on the CLIP grid, the gate's two Linears on one (mean) row. Resampling is element-wise.
  const double s2f = linear_flops(slow, cs, cs) + linear_flops(slow, cs, dv) + 2.0 * d(n) * d(dv) * 49 +
                     linear_flops(n, dv, dv) + linear_flops(1, 2 * dv, dv / 2) + linear_flops(1, dv / 2, 1);
  // MultiPathAlignModule: fast_proj Dv->Dv and slow_proj Cs->Dv on the aligned N tokens.
  const double align = linear_flops(n, dv, dv) + linear_flops(n, cs, dv);
  return (cfg.hr.adapters ? 3.0 * s2f : 0.0) + align;
}

FlopsBreakdown exact_flops(const LlavaConfig& cfg, int64_t text_tokens, int64_t visual_tokens) {
  return exact_flops(cfg, text_tokens, uniform_schedule(cfg.text.num_hidden_layers, visual_tokens));
}

FlopsBreakdown exact_flops(const LlavaConfig& cfg, int64_t text_tokens, const std::vector<LayerTokens>& schedule) {
  FlopsBreakdown out;
  out.llm_prefill = llm_prefill_flops(cfg, text_tokens, schedule, FlopsConvention::kExact);  // validates

  const VisionConfig& v = cfg.vision;
  const bool hr = cfg.model_type == "llava_hr";
  // LLaVA-HR's CLIP branch runs on its own grid (32x32 at 1024) and drops CLS before the layers.
  const int64_t grid = image_grid_side(cfg), patches = grid * grid, t_vision = patches + (hr ? 0 : 1);  // + CLS
  const int64_t dv = v.hidden_size;
  const double patch_embed = linear_flops(patches, v.num_channels * v.patch_size * v.patch_size, dv);
  // CLIP layer: Q/K/V/O, QK^T and AV over all 577 tokens (no mask), 2-matrix GELU MLP.
  const double vision_layer = 4 * linear_flops(t_vision, dv, dv) + 2 * linear_flops(t_vision, dv, t_vision) +
                              2 * linear_flops(t_vision, dv, v.intermediate_size);
  const double crops = d(vision_crops(cfg));
  out.vision = crops * (patch_embed + d(vision_layers_to_run(cfg)) * vision_layer);
  if (hr) {
    out.vision_fast = out.vision;
    out.vision_slow = convnext_flops(cfg.hr.slow, cfg.hr.input_image_size);
    out.vision_adapters = hr_adapter_flops(cfg);
    out.vision = out.vision_fast + out.vision_slow + out.vision_adapters;
  }

  // prune-bench's encode_image projects every tower token before a pruner sees them
  // (lib/models/llava.h ImageFeatures), so the projector cost does not depend on the schedule.
  const int64_t hidden = cfg.text.hidden_size;
  const int64_t projected = vision_crops(cfg) * image_tokens_per_image(cfg);
  const int64_t feature_width = dv * static_cast<int64_t>(cfg.vision_feature_layers.size());
  out.projector = linear_flops(projected, feature_width, hidden) +
                  (cfg.projector_type == "mlp2x_gelu" ? linear_flops(projected, hidden, hidden) : 0.0);

  out.lm_head = linear_flops(1, hidden, cfg.text.vocab_size);
  for (const LayerTokens& t : schedule) {
    out.llm_prefill_layers.push_back(decoder_layer_flops(cfg, text_tokens, t, FlopsConvention::kExact));
    // Decoding: one new row attends to this layer's KV cache, which holds every token that entered
    // the layer (FitPrune drops inside layer l after its K/V are cached) plus itself.
    out.decode_per_token += llama_layer_flops(cfg.text, 1, text_tokens + t.in + 1);
  }
  out.decode_per_token += out.lm_head;
  return out;
}

}  // namespace pb
