// LLaMA decoder (transformers LlamaModel + lm_head): RMSNorm, rotate-half RoPE, grouped-query
// attention with fp32 softmax, SiLU-gated MLP. One loop serves prefill and decode steps.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "io/model_config.h"
#include "models/kv_cache.h"
#include "models/layers.h"
#include "models/prefill_hooks.h"

namespace pb {

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  LlamaDecoderLayerImpl(const TextConfig& cfg, const at::TensorOptions& options);
  // The two halves of the layer, so a method can drop rows between them.
  // attention(): x [T, D] are the last T rows of the sequence; cos/sin [T, hd]. Appends K/V to
  // `cache` and returns the attention output before o_proj [T, H*hd]; `probs` (if given) receives
  // the softmax [H, T, len] fp32.
  at::Tensor attention(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, KvCache& cache,
                       int64_t layer, at::Tensor* probs) const;
  // last_query_attention(): the softmax of the last row of x [T, D] over all T rows with this
  // layer's input norm, q_proj/k_proj and RoPE (cos/sin [T, hd]); no cache: [H, T] fp32.
  at::Tensor last_query_attention(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const;
  // finish(): residual x [T', D] and attention output [T', H*hd] -> layer output [T', D].
  at::Tensor finish(const at::Tensor& x, const at::Tensor& attention_out) const;

 private:
  int64_t heads_, kv_heads_, head_dim_;
  Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, o_proj_{nullptr};
  Linear gate_proj_{nullptr}, up_proj_{nullptr}, down_proj_{nullptr};
  RmsNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

class LlamaModelImpl : public torch::nn::Module, public DecoderProbe {
 public:
  LlamaModelImpl(const TextConfig& cfg, const at::TensorOptions& options);
  at::Tensor embed(const at::Tensor& ids) const;  // [T] int64 -> [T, D]
  // Runs every decoder layer on state.hidden, appending to state.cache; the observer (may be null)
  // may drop rows inside and after each layer. `visual_per_layer` / `visual_after_attn` (may be
  // null) receive the visual rows entering each layer and left after its attention.
  void run_layers(SequenceState& state, PrefillObserver* observer, std::vector<int64_t>* visual_per_layer,
                  std::vector<int64_t>* visual_after_attn = nullptr) const;
  at::Tensor logits(const at::Tensor& hidden) const;
  // DecoderProbe, for observers (state.probe during run_layers).
  at::Tensor attention_of_last_query(int64_t layer, const SequenceState& state) const override;
  at::Tensor final_norm(const at::Tensor& hidden) const override;  // final norm + lm_head: [n, D] -> [n, V] fp32
  KvCache make_cache(int64_t capacity) const;
  const TextConfig& config() const { return cfg_; }

 private:
  // RoPE tables for `positions` [T] int64: cos, sin [T, hd] in `dtype`.
  std::pair<at::Tensor, at::Tensor> rope_tables(const at::Tensor& positions, at::ScalarType dtype) const;
  TextConfig cfg_;
  at::Tensor embed_tokens_;  // [V, D]
  at::Tensor inv_freq_;      // [hd/2] fp32
  std::vector<LlamaDecoderLayer> layers_;  // registered under layers.<i>
  RmsNorm norm_{nullptr};
  at::Tensor lm_head_;       // [V, D]
};
TORCH_MODULE(LlamaModel);

}  // namespace pb
