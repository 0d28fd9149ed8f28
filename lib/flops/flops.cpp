#include "flops/flops.h"

#include "spec/model_spec.h"

namespace pb {

double linear_flops(int64_t n, int64_t d_in, int64_t d_out) {
  return 2.0 * static_cast<double>(n) * static_cast<double>(d_in) * static_cast<double>(d_out);
}

double llama_layer_flops(const TextConfig& text, int64_t n, int64_t context) {
  const int64_t d = text.hidden_size, hd = text.head_dim;
  const int64_t q_width = text.num_attention_heads * hd, kv_width = text.num_key_value_heads * hd;
  const double projections = linear_flops(n, d, q_width) + 2 * linear_flops(n, d, kv_width) +
                             linear_flops(n, q_width, d);
  const double attention = 2 * linear_flops(n, hd, context) * static_cast<double>(text.num_attention_heads);
  const double mlp = 3 * linear_flops(n, d, text.intermediate_size);
  return projections + attention + mlp;
}

FlopsBreakdown exact_flops(const LlavaConfig& cfg, int64_t text_tokens, int64_t visual_tokens) {
  FlopsBreakdown out;
  const VisionConfig& v = cfg.vision;
  const int64_t grid = v.image_size / v.patch_size, patches = grid * grid, t_vision = patches + 1;
  const int64_t dv = v.hidden_size;
  out.vision = linear_flops(patches, v.num_channels * v.patch_size * v.patch_size, dv);
  const int64_t layers_run = vision_layers_to_run(cfg);
  const double vision_layer = 4 * linear_flops(t_vision, dv, dv) + 2 * linear_flops(t_vision, dv, t_vision) +
                              2 * linear_flops(t_vision, dv, v.intermediate_size);
  out.vision += static_cast<double>(layers_run) * vision_layer;
  const int64_t d = cfg.text.hidden_size;
  const int64_t feature_width = dv * static_cast<int64_t>(cfg.vision_feature_layers.size());
  out.projector = linear_flops(visual_tokens, feature_width, d) +
                  (cfg.projector_type == "mlp2x_gelu" ? linear_flops(visual_tokens, d, d) : 0.0);
  const int64_t n = text_tokens + visual_tokens;
  for (int64_t l = 0; l < cfg.text.num_hidden_layers; ++l) {
    out.llm_prefill_layers.push_back(llama_layer_flops(cfg.text, n, n));
    out.llm_prefill += out.llm_prefill_layers.back();
  }
  out.llm_prefill += linear_flops(1, d, cfg.text.vocab_size);
  out.decode_per_token = static_cast<double>(cfg.text.num_hidden_layers) * llama_layer_flops(cfg.text, 1, n + 1) +
                         linear_flops(1, d, cfg.text.vocab_size);
  return out;
}

}  // namespace pb
