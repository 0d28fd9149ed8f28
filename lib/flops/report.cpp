// flops_report(): the JSON breakdown of `prune-bench flops`, also written by `prune-bench run`.
#include "flops/flops.h"
#include "flops/visual_tokens.h"

namespace pb {

namespace {

double reduction(double pruned, double unpruned) { return unpruned > 0 ? 1.0 - pruned / unpruned : 0.0; }

}  // namespace

nlohmann::json flops_report(const LlavaConfig& cfg, int64_t text_tokens, const std::vector<LayerTokens>& schedule,
                            FlopsConvention convention, int64_t unpruned_visual_tokens) {
  const int64_t layers = cfg.text.num_hidden_layers;
  const int64_t unpruned_visual = unpruned_visual_tokens < 0 ? nominal_visual_tokens(cfg) : unpruned_visual_tokens;
  const bool exact = convention == FlopsConvention::kExact;
  nlohmann::json out;
  out["convention"] = {{"name", flops_convention_name(convention)},
                       {"description", flops_convention_description(convention)},
                       {"source", flops_convention_source(convention)},
                       {"flops_per_multiply_add", flops_per_multiply_add(convention)},
                       {"counts_text_tokens", flops_convention_counts_text(convention)}};
  out["model"] = {{"source", cfg.source},
                  {"hash", cfg.hash()},
                  {"model_type", cfg.model_type},
                  {"decoder_layers", layers},
                  {"hidden_size", cfg.text.hidden_size},
                  {"intermediate_size", cfg.text.intermediate_size},
                  {"attention_heads", cfg.text.num_attention_heads},
                  {"key_value_heads", cfg.text.num_key_value_heads}};
  out["text_tokens"] = text_tokens;
  out["visual_tokens"] = schedule_to_json(schedule);

  const std::vector<LayerTokens> unpruned = uniform_schedule(layers, unpruned_visual);
  const bool pruned = schedule != unpruned;
  if (exact) {
    const FlopsBreakdown b = exact_flops(cfg, text_tokens, schedule);
    out["layer_flops"] = b.llm_prefill_layers;
    out["llm_prefill"] = b.llm_prefill;
    out["vision"] = b.vision;
    if (cfg.model_type == "llava_hr") {
      out["vision_parts"] = {{"fast_clip", b.vision_fast}, {"slow_convnext", b.vision_slow},
                             {"adapters", b.vision_adapters}};
    }
    out["projector"] = b.projector;
    out["lm_head"] = b.lm_head;
    out["total"] = b.total_prefill();
    out["decode_per_token"] = b.decode_per_token;
    if (pruned) {
      const FlopsBreakdown u = exact_flops(cfg, text_tokens, unpruned);
      out["unpruned"] = {{"visual_tokens", unpruned_visual}, {"llm_prefill", u.llm_prefill},
                         {"total", u.total_prefill()}};
      out["reduction_vs_unpruned"] = reduction(b.llm_prefill, u.llm_prefill);
      out["reduction_vs_unpruned_total"] = reduction(b.total_prefill(), u.total_prefill());
    }
    return out;
  }
  const double llm = llm_prefill_flops(cfg, text_tokens, schedule, convention);  // validates
  std::vector<double> per_layer;
  for (const LayerTokens& t : schedule) per_layer.push_back(decoder_layer_flops(cfg, text_tokens, t, convention));
  out["layer_flops"] = per_layer;
  out["llm_prefill"] = llm;
  if (pruned) {
    const double u = llm_prefill_flops(cfg, text_tokens, unpruned, convention);
    out["unpruned"] = {{"visual_tokens", unpruned_visual}, {"llm_prefill", u}};
    out["reduction_vs_unpruned"] = reduction(llm, u);
  }
  return out;
}

}  // namespace pb
