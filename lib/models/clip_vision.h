// CLIP ViT vision tower (transformers CLIPVisionModel / openai CLIP VisionTransformer), running
// only the encoder layers that the selected feature layers need.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <set>
#include <vector>

#include "io/model_config.h"
#include "models/layers.h"

namespace pb {

class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(const VisionConfig& cfg, const at::TensorOptions& options);
  // x [B, T, D] -> [B, T, D]; when `probs` is given it receives the softmax [B, H, T, T] fp32.
  at::Tensor forward(const at::Tensor& x, at::Tensor* probs) const;

 private:
  int64_t heads_, head_dim_;
  Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, out_proj_{nullptr};
};
TORCH_MODULE(ClipAttention);

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  ClipEncoderLayerImpl(const VisionConfig& cfg, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, at::Tensor* probs) const;  // [B, T, D]

 private:
  bool quick_gelu_;
  ClipAttention self_attn_{nullptr};
  LayerNorm layer_norm1_{nullptr}, layer_norm2_{nullptr};
  Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

struct VisionTowerOutput {
  std::vector<at::Tensor> hidden_states;  // [layers_run + 1] of [B, 1+P, Dv]; [0] = after pre_layrnorm
  std::vector<at::Tensor> attentions;     // [layers_run] of [B, H, 1+P, 1+P] fp32, only where asked
};

class ClipVisionTowerImpl : public torch::nn::Module {
 public:
  // layers_to_run <= cfg.num_hidden_layers: later layers are never built nor loaded.
  ClipVisionTowerImpl(const VisionConfig& cfg, int64_t layers_to_run, const at::TensorOptions& options);
  // pixels [B, 3, S, S] (any float dtype; cast to the weights' dtype).
  VisionTowerOutput forward(const at::Tensor& pixels, const std::set<int64_t>& attention_layers = {}) const;
  int64_t layers_to_run() const { return static_cast<int64_t>(layers_.size()); }

 private:
  VisionConfig cfg_;
  at::Tensor class_embedding_;     // [Dv]
  at::Tensor patch_embedding_;     // [Dv, 3, p, p] (no bias)
  at::Tensor position_embedding_;  // [1+P, Dv]
  LayerNorm pre_layrnorm_{nullptr};
  std::vector<ClipEncoderLayer> layers_;  // registered under encoder.layers.<i>
};
TORCH_MODULE(ClipVisionTower);

}  // namespace pb
