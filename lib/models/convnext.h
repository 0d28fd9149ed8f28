// LLaVA-HR's slow branch: the timm ConvNeXt that luogen1996/LLaVA-HR vendors
// (llava_hr/model/multimodal_encoder/convnext.py), stem and four stages only; the classifier head
// is never run (multipath_encoder_wapper.py calls stem and stages directly).
#pragma once

#include <torch/nn/module.h>

#include <vector>

#include "io/model_config.h"
#include "models/layers.h"

namespace pb {

// timm ConvNeXtBlock with conv_mlp=False: 7x7 depthwise conv, LayerNorm over channels (channels
// last), Linear 4C, exact GELU, Linear C, layer scale, residual.
class ConvNextBlockImpl : public torch::nn::Module {
 public:
  ConvNextBlockImpl(int64_t dim, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // [B, C, H, W] -> [B, C, H, W]

 private:
  Conv2d conv_dw_{nullptr};
  LayerNorm norm_{nullptr};
  Linear fc1_{nullptr}, fc2_{nullptr};  // mlp.fc1, mlp.fc2
  at::Tensor gamma_;                    // [C] layer scale, stored as "weight" in this timm version
};
TORCH_MODULE(ConvNextBlock);

// timm ConvNeXtStage: for stages 1-3 a downsample (LayerNorm2d, 2x2 stride-2 conv), then the blocks.
class ConvNextStageImpl : public torch::nn::Module {
 public:
  ConvNextStageImpl(int64_t in_dim, int64_t dim, int64_t depth, bool downsample, double eps,
                    const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // [B, Cin, H, W] -> [B, C, H/2, W/2] (stage 0: same size)

 private:
  LayerNorm down_norm_{nullptr};  // downsample.0, undefined for stage 0
  Conv2d down_conv_{nullptr};     // downsample.1
  std::vector<ConvNextBlock> blocks_;
};
TORCH_MODULE(ConvNextStage);

class ConvNextImpl : public torch::nn::Module {
 public:
  ConvNextImpl(const ConvNextConfig& cfg, const at::TensorOptions& options);
  // pixels [B, 3, S, S] -> the last stage's map [B, dims[3], S/32, S/32] (floored at each step).
  at::Tensor forward(const at::Tensor& pixels) const;
  int64_t out_channels() const { return cfg_.dims[3]; }

 private:
  ConvNextConfig cfg_;
  Conv2d stem_conv_{nullptr};  // stem.0: 4x4 stride 4
  LayerNorm stem_norm_{nullptr};  // stem.1 (LayerNorm2d)
  std::vector<ConvNextStage> stages_;
};
TORCH_MODULE(ConvNext);

// timm LayerNorm2d: LayerNorm over the channels of an NCHW map, x [B, C, H, W].
at::Tensor layer_norm_2d(const LayerNorm& norm, const at::Tensor& x);

}  // namespace pb
