#include "models/llama.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.h"
#include "models/layers.h"

namespace pb {

namespace {

// transformers' rotate_half: split-halves RoPE, the layout HF LLaMA checkpoints are stored in.
at::Tensor rotate_half(const at::Tensor& x) {  // [..., hd]
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;  // x [H, T, hd], cos/sin [T, hd]
}

}  // namespace

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const TextConfig& cfg, const at::TensorOptions& options)
    : heads_(cfg.num_attention_heads), kv_heads_(cfg.num_key_value_heads), head_dim_(cfg.head_dim) {
  if (cfg.hidden_act != "silu") {
    throw Error(fmt::format("text_config.hidden_act '{}' is not supported (silu)", cfg.hidden_act));
  }
  const int64_t d = cfg.hidden_size, f = cfg.intermediate_size;
  torch::nn::Module& attn = child_module(*this, "self_attn");
  q_proj_ = attn.register_module("q_proj", Linear(d, heads_ * head_dim_, cfg.attention_bias, options));
  k_proj_ = attn.register_module("k_proj", Linear(d, kv_heads_ * head_dim_, cfg.attention_bias, options));
  v_proj_ = attn.register_module("v_proj", Linear(d, kv_heads_ * head_dim_, cfg.attention_bias, options));
  o_proj_ = attn.register_module("o_proj", Linear(heads_ * head_dim_, d, cfg.attention_bias, options));
  torch::nn::Module& mlp = child_module(*this, "mlp");
  gate_proj_ = mlp.register_module("gate_proj", Linear(d, f, cfg.mlp_bias, options));
  up_proj_ = mlp.register_module("up_proj", Linear(d, f, cfg.mlp_bias, options));
  down_proj_ = mlp.register_module("down_proj", Linear(f, d, cfg.mlp_bias, options));
  input_layernorm_ = register_module("input_layernorm", RmsNorm(d, cfg.rms_norm_eps, options));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", RmsNorm(d, cfg.rms_norm_eps, options));
}

at::Tensor LlamaDecoderLayerImpl::attention(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                            KvCache& cache, int64_t layer, at::Tensor* probs) const {
  const int64_t t = x.size(0), groups = heads_ / kv_heads_;
  const at::Tensor normed = input_layernorm_->forward(x);
  const at::Tensor q = apply_rope(q_proj_->forward(normed).view({t, heads_, head_dim_}).transpose(0, 1), cos, sin);
  const at::Tensor k = apply_rope(k_proj_->forward(normed).view({t, kv_heads_, head_dim_}).transpose(0, 1), cos, sin);
  const at::Tensor v = v_proj_->forward(normed).view({t, kv_heads_, head_dim_}).transpose(0, 1);
  const auto [keys, values] = cache.append(layer, k, v);  // [Hkv, len, hd]
  const int64_t len = keys.size(1);
  // Grouped-query attention without repeating K/V: head h uses kv head h / groups (HF repeat_kv),
  // so the `groups` query heads of one kv head are stacked as [Hkv, groups*T, hd].
  const at::Tensor q_grouped = q.reshape({kv_heads_, groups * t, head_dim_});
  at::Tensor scores = at::matmul(q_grouped, keys.transpose(1, 2)).view({heads_, t, len}).to(at::kFloat);
  scores.mul_(1.0 / std::sqrt(static_cast<double>(head_dim_)));
  if (t > 1) {
    // Row i is sequence position len - t + i and sees keys 0 .. len - t + i.
    const at::Tensor mask = at::ones({t, len}, scores.options().dtype(at::kBool)).triu(len - t + 1);
    scores.masked_fill_(mask, -std::numeric_limits<float>::infinity());
  }
  const at::Tensor p = at::softmax(scores, /*dim=*/-1);  // [H, T, len] fp32
  if (probs != nullptr) {
    *probs = p;
  }
  const at::Tensor out = attention_values(p.to(x.scalar_type()).view({kv_heads_, groups * t, len}), values);
  return out.view({heads_, t, head_dim_}).transpose(0, 1).reshape({t, heads_ * head_dim_});
}

at::Tensor LlamaDecoderLayerImpl::last_query_attention(const at::Tensor& x, const at::Tensor& cos,
                                                       const at::Tensor& sin) const {
  const int64_t t = x.size(0), groups = heads_ / kv_heads_;
  const at::Tensor normed = input_layernorm_->forward(x);  // [T, D]
  const at::Tensor last = normed.narrow(0, t - 1, 1);       // [1, D]
  const at::Tensor q = apply_rope(q_proj_->forward(last).view({1, heads_, head_dim_}).transpose(0, 1),
                                  cos.narrow(0, t - 1, 1), sin.narrow(0, t - 1, 1));  // [H, 1, hd]
  const at::Tensor k = apply_rope(k_proj_->forward(normed).view({t, kv_heads_, head_dim_}).transpose(0, 1), cos, sin);
  // The last row sees every row, so no mask; GQA as in attention(): [Hkv, groups, hd] x [Hkv, hd, T].
  at::Tensor scores = at::matmul(q.reshape({kv_heads_, groups, head_dim_}), k.transpose(1, 2))
                          .view({heads_, t})
                          .to(at::kFloat);
  scores.mul_(1.0 / std::sqrt(static_cast<double>(head_dim_)));
  return at::softmax(scores, -1);  // [H, T] fp32
}

at::Tensor LlamaDecoderLayerImpl::finish(const at::Tensor& x, const at::Tensor& attention_out) const {
  const at::Tensor h = x + o_proj_->forward(attention_out);
  const at::Tensor y = post_attention_layernorm_->forward(h);
  return h + down_proj_->forward(at::silu(gate_proj_->forward(y)) * up_proj_->forward(y));
}

LlamaModelImpl::LlamaModelImpl(const TextConfig& cfg, const at::TensorOptions& options) : cfg_(cfg) {
  const int64_t d = cfg.hidden_size;
  embed_tokens_ = child_module(*this, "embed_tokens")
                      .register_parameter("weight", at::empty({cfg.vocab_size, d}, options), false);
  auto list = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    layers_.push_back(LlamaDecoderLayer(cfg, options));
    list->push_back(layers_.back());
  }
  norm_ = register_module("norm", RmsNorm(d, cfg.rms_norm_eps, options));
  lm_head_ = child_module(*this, "lm_head")
                 .register_parameter("weight", at::empty({cfg.vocab_size, d}, options), false);
  // inv_freq[i] = theta^(-2i/hd), in fp32 as transformers' default RoPE computes it.
  inv_freq_ = 1.0 / at::pow(cfg.rope_theta, at::arange(0, cfg.head_dim, 2, at::kFloat) /
                                                static_cast<double>(cfg.head_dim));
  inv_freq_ = inv_freq_.to(options.device());
}

at::Tensor LlamaModelImpl::embed(const at::Tensor& ids) const {
  return at::embedding(embed_tokens_, ids.to(embed_tokens_.device()));
}

void LlamaModelImpl::run_layers(SequenceState& state, PrefillObserver* observer,
                                std::vector<int64_t>* visual_per_layer,
                                std::vector<int64_t>* visual_after_attn) const {
  PB_CHECK(state.cache != nullptr, "run_layers needs a KV cache");
  state.probe = this;
  if (observer != nullptr) {
    observer->before_layers(state);
  }
  at::Tensor rope_positions, cos, sin;  // [T, hd], recomputed only when a hook changes the rows
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto layer = static_cast<int64_t>(i);
    if (visual_per_layer != nullptr) {
      visual_per_layer->push_back(state.image_len);
    }
    if (state.decode_positions_from_cache && state.hidden.size(0) == 1 &&
        state.positions.item<int64_t>() != state.cache->length(layer)) {
      // A decode step after a re-indexing prefill: this layer's position is its cache length.
      state.positions = at::full({1}, state.cache->length(layer), state.positions.options());
    }
    if (!state.positions.is_same(rope_positions)) {
      // cos/sin from the rows' own positions (a pruning method may keep or re-index them).
      rope_positions = state.positions;
      std::tie(cos, sin) = rope_tables(rope_positions, state.hidden.scalar_type());
    }
    const bool want = observer != nullptr && observer->wants_attention(layer);
    at::Tensor probs;
    const LlamaDecoderLayer& block = layers_[i];
    at::Tensor attention_out = block->attention(state.hidden, cos, sin, *state.cache, layer, want ? &probs : nullptr);
    if (observer != nullptr) {
      const at::Tensor rows = observer->after_attention(layer, state, probs);
      if (rows.defined()) {
        attention_out = attention_out.index_select(0, rows.to(attention_out.device()));
        state.keep_rows(rows);  // the residual rows, positions and image span follow
      }
    }
    if (visual_after_attn != nullptr) {
      visual_after_attn->push_back(state.image_len);
    }
    state.hidden = block->finish(state.hidden, attention_out);
    if (observer != nullptr) {
      observer->after_layer(layer, state, probs);
    }
  }
}

std::pair<at::Tensor, at::Tensor> LlamaModelImpl::rope_tables(const at::Tensor& positions,
                                                               at::ScalarType dtype) const {
  const at::Tensor freqs = positions.to(inv_freq_.device()).to(at::kFloat).unsqueeze(1) * inv_freq_.unsqueeze(0);
  const at::Tensor emb = at::cat({freqs, freqs}, -1);  // [T, hd] fp32
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor LlamaModelImpl::attention_of_last_query(int64_t layer, const SequenceState& state) const {
  PB_CHECK(layer >= 0 && layer < static_cast<int64_t>(layers_.size()), "probe layer out of range");
  const auto [cos, sin] = rope_tables(state.positions, state.hidden.scalar_type());
  return layers_[static_cast<size_t>(layer)]->last_query_attention(state.hidden, cos, sin);
}

at::Tensor LlamaModelImpl::final_norm(const at::Tensor& hidden) const { return norm_->forward(hidden); }

at::Tensor LlamaModelImpl::logits(const at::Tensor& hidden) const {
  return at::linear(norm_->forward(hidden), lm_head_).to(at::kFloat);
}

KvCache LlamaModelImpl::make_cache(int64_t capacity) const {
  return KvCache(cfg_.num_hidden_layers, cfg_.num_key_value_heads, cfg_.head_dim, capacity,
                 embed_tokens_.options());
}

}  // namespace pb
