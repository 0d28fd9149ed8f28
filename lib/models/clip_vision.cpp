#include "models/clip_vision.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/layers.h"

namespace pb {

ClipAttentionImpl::ClipAttentionImpl(const VisionConfig& cfg, const at::TensorOptions& options)
    : heads_(cfg.num_attention_heads), head_dim_(cfg.hidden_size / cfg.num_attention_heads) {
  const int64_t d = cfg.hidden_size;
  q_proj_ = register_module("q_proj", Linear(d, d, true, options));
  k_proj_ = register_module("k_proj", Linear(d, d, true, options));
  v_proj_ = register_module("v_proj", Linear(d, d, true, options));
  out_proj_ = register_module("out_proj", Linear(d, d, true, options));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, at::Tensor* probs, at::Tensor* keys) const {
  const int64_t b = x.size(0), t = x.size(1);
  auto split_heads = [&](const at::Tensor& y) {  // [B, T, D] -> [B, H, T, hd]
    return y.view({b, t, heads_, head_dim_}).transpose(1, 2);
  };
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  const at::Tensor q = split_heads(q_proj_->forward(x) * scale);
  const at::Tensor k = split_heads(k_proj_->forward(x));
  const at::Tensor v = split_heads(v_proj_->forward(x));
  if (keys != nullptr) *keys = k;
  // Softmax in fp32 (as LLaMA's attention does) so bf16 runs stay close to the fp32 reference.
  const at::Tensor p = at::softmax(at::matmul(q, k.transpose(-1, -2)).to(at::kFloat), /*dim=*/-1);
  if (probs != nullptr) {
    *probs = p;
  }
  const at::Tensor out = attention_values(p.to(x.scalar_type()), v);  // [B, H, T, hd]
  return out_proj_->forward(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

std::pair<at::Tensor, at::Tensor> ClipAttentionImpl::qk(const at::Tensor& x) const {
  return {q_proj_->forward(x), k_proj_->forward(x)};
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const VisionConfig& cfg, const at::TensorOptions& options)
    : quick_gelu_(cfg.hidden_act == "quick_gelu") {
  if (cfg.hidden_act != "quick_gelu" && cfg.hidden_act != "gelu") {
    throw Error(fmt::format("vision_config.hidden_act '{}' is not supported (quick_gelu, gelu)",
                            cfg.hidden_act));
  }
  self_attn_ = register_module("self_attn", ClipAttention(cfg, options));
  layer_norm1_ = register_module("layer_norm1", LayerNorm(cfg.hidden_size, cfg.layer_norm_eps, options));
  layer_norm2_ = register_module("layer_norm2", LayerNorm(cfg.hidden_size, cfg.layer_norm_eps, options));
  torch::nn::Module& mlp = child_module(*this, "mlp");
  fc1_ = mlp.register_module("fc1", Linear(cfg.hidden_size, cfg.intermediate_size, true, options));
  fc2_ = mlp.register_module("fc2", Linear(cfg.intermediate_size, cfg.hidden_size, true, options));
}

at::Tensor ClipEncoderLayerImpl::mlp_block(const at::Tensor& h) const {
  at::Tensor y = fc1_->forward(layer_norm2_->forward(h));
  // quick_gelu(x) = x * sigmoid(1.702 x) (openai CLIP's QuickGELU, the CLIP-L/14-336 activation).
  y = quick_gelu_ ? y * at::sigmoid(1.702 * y) : at::gelu(y);
  return h + fc2_->forward(y);
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x, at::Tensor* probs) const {
  return mlp_block(x + self_attn_->forward(layer_norm1_->forward(x), probs));
}

at::Tensor ClipEncoderLayerImpl::forward_hooked(const at::Tensor& x, at::Tensor* probs, int64_t index,
                                                VisionLayerHook& hook) const {
  at::Tensor keys;  // [B, H, T, hd]
  at::Tensor h = x + self_attn_->forward(layer_norm1_->forward(x), probs, &keys);  // [B, T, D]
  at::Tensor merged = hook.after_attention(index, h, keys);
  if (merged.defined()) h = merged;
  return mlp_block(h);
}

std::pair<at::Tensor, at::Tensor> ClipEncoderLayerImpl::qk(const at::Tensor& x) const {
  return self_attn_->qk(layer_norm1_->forward(x));
}

ClipQkProbeImpl::ClipQkProbeImpl(const VisionConfig& cfg, const at::TensorOptions& options) {
  const int64_t d = cfg.hidden_size;
  layer_norm1_ = register_module("layer_norm1", LayerNorm(d, cfg.layer_norm_eps, options));
  torch::nn::Module& attn = child_module(*this, "self_attn");
  q_proj_ = attn.register_module("q_proj", Linear(d, d, true, options));
  k_proj_ = attn.register_module("k_proj", Linear(d, d, true, options));
}

std::pair<at::Tensor, at::Tensor> ClipQkProbeImpl::qk(const at::Tensor& x) const {
  const at::Tensor normed = layer_norm1_->forward(x);
  return {q_proj_->forward(normed), k_proj_->forward(normed)};
}

ClipVisionTowerImpl::ClipVisionTowerImpl(const VisionConfig& cfg, int64_t layers_to_run,
                                         const at::TensorOptions& options)
    : cfg_(cfg) {
  PB_CHECK(layers_to_run >= 0 && layers_to_run <= cfg.num_hidden_layers, "layers_to_run out of range");
  const int64_t d = cfg.hidden_size, p = cfg.patch_size;
  const int64_t grid = cfg.image_size / p;
  torch::nn::Module& embeddings = child_module(*this, "embeddings");
  class_embedding_ = embeddings.register_parameter("class_embedding", at::empty({d}, options), false);
  patch_embedding_ = child_module(embeddings, "patch_embedding")
                         .register_parameter("weight", at::empty({d, cfg.num_channels, p, p}, options), false);
  position_embedding_ = child_module(embeddings, "position_embedding")
                            .register_parameter("weight", at::empty({grid * grid + 1, d}, options), false);
  pre_layrnorm_ = register_module("pre_layrnorm", LayerNorm(d, cfg.layer_norm_eps, options));
  auto list = child_module(*this, "encoder").register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers_to_run; ++i) {
    layers_.push_back(ClipEncoderLayer(cfg, options));
    list->push_back(layers_.back());
  }
  if (layers_to_run < cfg.num_hidden_layers) {
    // Registered as encoder.layers.<layers_to_run>, so its three tensors load from the checkpoint
    // under their own names (the layer's other tensors stay unused).
    probe_ = ClipQkProbe(cfg, options);
    list->push_back(probe_);
  }
}

VisionTowerOutput ClipVisionTowerImpl::forward(const at::Tensor& pixels,
                                               const std::set<int64_t>& attention_layers) const {
  VisionTowerRequest request;
  request.attention_layers = attention_layers;
  return forward(pixels, request);
}

VisionTowerOutput ClipVisionTowerImpl::forward(const at::Tensor& pixels, const VisionTowerRequest& request) const {
  const int64_t s = cfg_.image_size;
  if (pixels.dim() != 4 || pixels.size(1) != cfg_.num_channels || pixels.size(2) != s ||
      pixels.size(3) != s) {
    throw Error(fmt::format("pixel_values must be [B, {}, {}, {}], got {}", cfg_.num_channels, s, s,
                            c10::str(pixels.sizes())));
  }
  const int64_t b = pixels.size(0), d = cfg_.hidden_size;
  const at::Tensor x = pixels.to(patch_embedding_.scalar_type());
  // [B, D, g, g] -> [B, g*g, D]: raster order (row-major), as CLIP flattens the patch grid.
  const at::Tensor patches = at::conv2d(x, patch_embedding_, {}, /*stride=*/cfg_.patch_size)
                                 .flatten(2)
                                 .transpose(1, 2);
  at::Tensor h = at::cat({class_embedding_.view({1, 1, d}).expand({b, 1, d}), patches}, 1) +
                 position_embedding_.unsqueeze(0);  // [B, 1+P, D]
  const auto n_run = static_cast<int64_t>(layers_.size());
  for (int64_t l : request.qk_layers) {
    if (l < 0 || l > n_run || (l == n_run && probe_.is_empty())) {
      throw Error(fmt::format("vision tower: q/k of layer {} asked for; layers 0..{} are available", l,
                              probe_.is_empty() ? n_run - 1 : n_run));
    }
  }
  VisionTowerOutput out;
  h = pre_layrnorm_->forward(h);
  out.hidden_states.push_back(h);
  out.qk.resize(static_cast<size_t>(n_run + 1));
  if (request.hook != nullptr) request.hook->begin(h.size(1));
  for (int64_t i = 0; i < n_run; ++i) {
    const auto& layer = layers_[static_cast<size_t>(i)];
    if (request.qk_layers.count(i) > 0) out.qk[static_cast<size_t>(i)] = layer->qk(h);
    const bool want = request.attention_layers.count(i) > 0;
    at::Tensor probs;
    h = request.hook != nullptr ? layer->forward_hooked(h, want ? &probs : nullptr, i, *request.hook)
                                : layer->forward(h, want ? &probs : nullptr);
    out.hidden_states.push_back(h);
    out.attentions.push_back(probs);
  }
  if (request.qk_layers.count(n_run) > 0) out.qk[static_cast<size_t>(n_run)] = probe_->qk(h);
  return out;
}

at::Tensor ClipVisionTowerImpl::embed_patches_resampled(const at::Tensor& pixels) const {
  if (pixels.dim() != 4 || pixels.size(1) != cfg_.num_channels || pixels.size(2) != pixels.size(3) ||
      pixels.size(2) < cfg_.patch_size) {
    throw Error(fmt::format("pixel_values must be [B, {}, s, s] with s >= {}, got {}", cfg_.num_channels,
                            cfg_.patch_size, c10::str(pixels.sizes())));
  }
  const int64_t d = cfg_.hidden_size, stored = cfg_.image_size / cfg_.patch_size;
  const at::Tensor patches = at::conv2d(pixels.to(patch_embedding_.scalar_type()), patch_embedding_, {},
                                        /*stride=*/cfg_.patch_size)
                                 .flatten(2)
                                 .transpose(1, 2);  // [B, g*g, D]
  const int64_t grid = pixels.size(2) / cfg_.patch_size;
  at::Tensor pos = position_embedding_.narrow(0, 1, stored * stored);  // [G*G, D]: CLS row not needed
  if (grid != stored) {
    // F.interpolate(mode="bicubic", antialias=True, align_corners=False) on [1, D, G, G] in fp32.
    const at::Tensor map = pos.to(at::kFloat).reshape({1, stored, stored, d}).permute({0, 3, 1, 2});
    pos = at::_upsample_bicubic2d_aa(map, {grid, grid}, /*align_corners=*/false, c10::nullopt, c10::nullopt)
              .permute({0, 2, 3, 1})
              .reshape({grid * grid, d})
              .to(position_embedding_.scalar_type());
  }
  return pre_layrnorm_->forward(patches + pos.unsqueeze(0));
}

}  // namespace pb
