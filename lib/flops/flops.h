// Analytic FLOPs of a LLaVA forward pass. `exact` counts 2 FLOPs per multiply-add of every matmul
// prune-bench actually runs: vision tower (layers run) and projector, Q/K/V/O with GQA, attention
// scores and values over the full (masked) score matrix, the 3-matrix SwiGLU MLP, and the LM head
// on the last prefill position; norms, softmax and element-wise ops are ignored.
#pragma once

#include <cstdint>
#include <vector>

#include "io/model_config.h"

namespace pb {

struct FlopsBreakdown {
  double vision = 0;                       // patch embedding + encoder layers run
  double projector = 0;
  double llm_prefill = 0;                  // decoder layers + LM head (last position)
  std::vector<double> llm_prefill_layers;  // [L] decoder layer share of llm_prefill
  double decode_per_token = 0;             // one generated token at the prefill's context length
  double total_prefill() const { return vision + projector + llm_prefill; }
};

// 2 * n * d_in * d_out
double linear_flops(int64_t n, int64_t d_in, int64_t d_out);

// FLOPs of one decoder layer for `n` query rows attending to `context` keys.
double llama_layer_flops(const TextConfig& text, int64_t n, int64_t context);

// `text_tokens` + `visual_tokens` enter every decoder layer (no pruning).
FlopsBreakdown exact_flops(const LlavaConfig& cfg, int64_t text_tokens, int64_t visual_tokens);

}  // namespace pb
