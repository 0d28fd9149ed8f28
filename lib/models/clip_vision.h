// CLIP ViT vision tower (transformers CLIPVisionModel / openai CLIP VisionTransformer), running
// only the encoder layers that the selected feature layers need.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <set>
#include <utility>
#include <vector>

#include "io/model_config.h"
#include "models/layers.h"
#include "models/vision_hooks.h"

namespace pb {

class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(const VisionConfig& cfg, const at::TensorOptions& options);
  // x [B, T, D] -> [B, T, D]; when `probs` is given it receives the softmax [B, H, T, T] fp32,
  // when `keys` is given the keys [B, H, T, hd].
  at::Tensor forward(const at::Tensor& x, at::Tensor* probs, at::Tensor* keys = nullptr) const;
  // The projections alone, x [B, T, D] -> {q, k} [B, T, D] each (biases added, q not scaled), as
  // hooks on q_proj / k_proj see them.
  std::pair<at::Tensor, at::Tensor> qk(const at::Tensor& x) const;

 private:
  int64_t heads_, head_dim_;
  Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, out_proj_{nullptr};
};
TORCH_MODULE(ClipAttention);

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  ClipEncoderLayerImpl(const VisionConfig& cfg, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, at::Tensor* probs) const;  // [B, T, D]
  // As forward, with `hook` called between attention and MLP as layer `index`.
  at::Tensor forward_hooked(const at::Tensor& x, at::Tensor* probs, int64_t index, VisionLayerHook& hook) const;
  // q/k projections of this layer's attention from the layer input x [B, T, D].
  std::pair<at::Tensor, at::Tensor> qk(const at::Tensor& x) const;

 private:
  bool quick_gelu_;
  ClipAttention self_attn_{nullptr};
  LayerNorm layer_norm1_{nullptr}, layer_norm2_{nullptr};
  Linear fc1_{nullptr}, fc2_{nullptr};
  at::Tensor mlp_block(const at::Tensor& h) const;  // h + MLP(LN2(h))
};
TORCH_MODULE(ClipEncoderLayer);

// The first tower layer LLaVA does not run, reduced to what computing its q/k needs (layer_norm1,
// q_proj, k_proj), so a method can read that layer's attention from its input (PruMerge+ hooks
// q/k of CLIP-L's last layer, which LLaVA-1.5's feature layer -2 never reaches).
class ClipQkProbeImpl : public torch::nn::Module {
 public:
  ClipQkProbeImpl(const VisionConfig& cfg, const at::TensorOptions& options);
  std::pair<at::Tensor, at::Tensor> qk(const at::Tensor& x) const;  // [B, T, D] -> {q, k} [B, T, D]

 private:
  LayerNorm layer_norm1_{nullptr};
  Linear q_proj_{nullptr}, k_proj_{nullptr};
};
TORCH_MODULE(ClipQkProbe);

struct VisionTowerRequest {
  std::set<int64_t> attention_layers;  // layers whose softmax to return
  std::set<int64_t> qk_layers;         // layers whose q/k to return (<= layers_to_run: the probe)
  VisionLayerHook* hook = nullptr;     // called inside every layer run (may change the rows)
};

struct VisionTowerOutput {
  std::vector<at::Tensor> hidden_states;  // [layers_run + 1] of [B, 1+P, Dv]; [0] = after pre_layrnorm
  std::vector<at::Tensor> attentions;     // [layers_run] of [B, H, 1+P, 1+P] fp32, only where asked
  // [layers_run + 1] of {q, k} [B, 1+P, Dv] (biased, q unscaled), only where asked: layer l's from
  // hidden_states[l], its input.
  std::vector<std::pair<at::Tensor, at::Tensor>> qk;
};

class ClipVisionTowerImpl : public torch::nn::Module {
 public:
  // layers_to_run <= cfg.num_hidden_layers: later layers are never built nor loaded.
  ClipVisionTowerImpl(const VisionConfig& cfg, int64_t layers_to_run, const at::TensorOptions& options);
  // pixels [B, 3, S, S] (any float dtype; cast to the weights' dtype).
  VisionTowerOutput forward(const at::Tensor& pixels, const std::set<int64_t>& attention_layers = {}) const;
  VisionTowerOutput forward(const at::Tensor& pixels, const VisionTowerRequest& request) const;
  int64_t layers_to_run() const { return static_cast<int64_t>(layers_.size()); }
  bool has_qk_probe() const { return !probe_.is_empty(); }
  // LLaVA-HR's CLIP branch input (clip_encoder.py forward_embeddings and resample_pos_embed):
  // pixels [B, 3, s, s] at any s >= patch; the patch grid's position embeddings, resampled from
  // the stored grid (bicubic with antialias, in fp32) when the sizes differ; CLS dropped, then
  // pre_layrnorm. -> [B, g*g, Dv] with g = s / patch (floored).
  at::Tensor embed_patches_resampled(const at::Tensor& pixels) const;
  const ClipEncoderLayer& layer(int64_t i) const { return layers_.at(static_cast<size_t>(i)); }

 private:
  VisionConfig cfg_;
  at::Tensor class_embedding_;     // [Dv]
  at::Tensor patch_embedding_;     // [Dv, 3, p, p] (no bias)
  at::Tensor position_embedding_;  // [1+P, Dv]
  LayerNorm pre_layrnorm_{nullptr};
  std::vector<ClipEncoderLayer> layers_;  // registered under encoder.layers.<i>
  ClipQkProbe probe_{nullptr};            // encoder.layers.<layers_run> (q/k only), if that layer exists
};
TORCH_MODULE(ClipVisionTower);

}  // namespace pb
