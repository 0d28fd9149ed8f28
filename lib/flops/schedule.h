// Per-decoder-layer visual-token schedules: how many visual tokens each LLM layer processes, the
// input of every FLOPs convention. JSON form (docs/flops.md): one entry per decoder layer, an
// integer (visual tokens entering the layer) or {"in": N, "after_attn": M} for methods that drop
// tokens inside a layer (FitPrune: Q/K/V and attention run at N, o_proj and the MLP at M).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pb {

// Visual tokens entering one decoder layer, and those left after its attention (== in unless the
// method drops tokens inside the layer).
struct LayerTokens {
  int64_t in;
  int64_t after_attn;
};

bool operator==(const LayerTokens& a, const LayerTokens& b);
bool operator!=(const LayerTokens& a, const LayerTokens& b);

// `layers` entries of {visual_tokens, visual_tokens}: no pruning inside the LLM.
std::vector<LayerTokens> uniform_schedule(int64_t layers, int64_t visual_tokens);

// Parses and validates the JSON form. pb::Error naming `source` and the entry index for: not an
// array, a length other than `layers`, an entry that is neither an integer nor {"in", "after_attn"}
// (unknown keys included), negative counts, after_attn > in, counts above `max_visual`, and counts
// that grow from one layer to the next (pruned tokens never come back).
std::vector<LayerTokens> parse_schedule(const nlohmann::json& j, int64_t layers, int64_t max_visual,
                                        const std::string& source);

// The JSON form: integers where in == after_attn, objects elsewhere; parse_schedule reads it back.
nlohmann::json schedule_to_json(const std::vector<LayerTokens>& schedule);

// Structural checks on a schedule from code (prune-bench run): `layers` entries, 0 <= after_attn
// <= in. pb::Error naming `what` and the layer.
void check_schedule(const std::vector<LayerTokens>& schedule, int64_t layers, const std::string& what);

}  // namespace pb
