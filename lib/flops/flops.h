// Analytic FLOPs of a LLaVA forward pass under named conventions (docs/flops.md):
//   exact    - 2 FLOPs per multiply-add of every matmul prune-bench runs (vision tower layers run,
//              projector, Q/K/V/O with GQA, full masked attention, 3-matrix SwiGLU, LM head on the
//              last prefill position), prefill and per-token decode separately;
//   fastv    - the FastV paper's 4nd^2 + 2n^2d + 2ndm per decoder layer over all tokens;
//   fitprune - FitPrune's code, 4nd^2 + 2n^2d + 3ndm per decoder layer over image tokens only.
// Norms, softmax, RoPE and element-wise ops are ignored everywhere.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flops/schedule.h"
#include "io/model_config.h"

namespace pb {

enum class FlopsConvention { kExact, kFastV, kFitPrune };

// The explicit registry, in the order help and docs list them.
std::vector<FlopsConvention> all_flops_conventions();
// pb::Error listing the valid names for an unknown one.
FlopsConvention flops_convention_from_name(const std::string& name);
const char* flops_convention_name(FlopsConvention convention);
// One line: what the convention counts.
const char* flops_convention_description(FlopsConvention convention);
// Where the formula comes from (paper / repository and path).
const char* flops_convention_source(FlopsConvention convention);
// 2 for exact, 1 for the paper conventions (a multiply-add counted as one "FLOP").
double flops_per_multiply_add(FlopsConvention convention);
// False for fitprune, whose n is image tokens only.
bool flops_convention_counts_text(FlopsConvention convention);

// 2 * n * d_in * d_out: one [n, d_in] x [d_in, d_out] matmul.
double linear_flops(int64_t n, int64_t d_in, int64_t d_out);

// Multiply-adds of one LLaMA decoder layer. `rows_in` query rows go through Q/K/V and attend to
// `context` keys (QK^T and AV, every score of the masked matrix); `rows_out` rows go through o_proj
// and an MLP of `mlp_matrices` d x m matrices. K/V are d x (kv_heads * head_dim) (GQA).
struct DecoderLayerMacs {
  double qkv = 0, attention = 0, o_proj = 0, mlp = 0;
  double total() const { return qkv + attention + o_proj + mlp; }
};
DecoderLayerMacs decoder_layer_macs(const TextConfig& text, int64_t rows_in, int64_t rows_out, int64_t context,
                                    int64_t mlp_matrices);

// Exact FLOPs of one decoder layer for `n` query rows attending to `context` keys (no pruning).
double llama_layer_flops(const TextConfig& text, int64_t n, int64_t context);

// FLOPs of decoder layer with `visual` tokens under `convention`; `text_tokens` are ignored by
// fitprune (image tokens only).
double decoder_layer_flops(const LlavaConfig& cfg, int64_t text_tokens, const LayerTokens& visual,
                           FlopsConvention convention);

// Sum of decoder_layer_flops over the schedule (LLM prefill, decoder layers only: no LM head).
// pb::Error when the schedule does not have one valid entry per decoder layer.
double llm_prefill_flops(const LlavaConfig& cfg, int64_t text_tokens, const std::vector<LayerTokens>& schedule,
                         FlopsConvention convention);

// The exact convention, component by component.
struct FlopsBreakdown {
  double vision = 0;                       // patch embedding + encoder layers run, every crop (HR: the 3 parts)
  // LLaVA-HR only (0 otherwise): its CLIP branch, ConvNeXt branch, and S2F + MultiPathAlign adapters.
  double vision_fast = 0, vision_slow = 0, vision_adapters = 0;
  double projector = 0;                    // on every token the tower gives (pruners run after it)
  double llm_prefill = 0;                  // decoder layers
  std::vector<double> llm_prefill_layers;  // [L] per decoder layer, sums to llm_prefill
  double lm_head = 0;                      // last prefill position only
  double decode_per_token = 0;             // first generated token: decoder layers + LM head
  double total_prefill() const { return vision + projector + llm_prefill + lm_head; }
};

// LLaVA-HR's ConvNeXt branch (stem, downsamples, blocks) on an image_size square, exact convention.
double convnext_flops(const ConvNextConfig& convnext, int64_t image_size);
// LLaVA-HR's three S2F adapters (none under freeze_vision) and the final MultiPathAlignModule.
double hr_adapter_flops(const LlavaConfig& cfg);

// Every decoder layer sees `text_tokens` + `visual_tokens` (no pruning inside the LLM).
FlopsBreakdown exact_flops(const LlavaConfig& cfg, int64_t text_tokens, int64_t visual_tokens);
// Decoder layer l sees `text_tokens` + schedule[l]; decode attends to each layer's KV cache.
FlopsBreakdown exact_flops(const LlavaConfig& cfg, int64_t text_tokens, const std::vector<LayerTokens>& schedule);

// The JSON breakdown `prune-bench flops` prints (docs/flops.md): convention, model (source, hash),
// text_tokens, visual_tokens (schedule_to_json), layer_flops, llm_prefill; for exact also vision,
// projector, lm_head, total (prefill) and decode_per_token. When the schedule is not every layer at
// `unpruned_visual_tokens` (-1: nominal_visual_tokens(cfg)), also "unpruned" and
// reduction_vs_unpruned = 1 - llm_prefill / unpruned llm_prefill (exact adds the same for total).
nlohmann::json flops_report(const LlavaConfig& cfg, int64_t text_tokens, const std::vector<LayerTokens>& schedule,
                            FlopsConvention convention, int64_t unpruned_visual_tokens = -1);

}  // namespace pb
