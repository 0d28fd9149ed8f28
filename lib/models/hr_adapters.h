// LLaVA-HR's mixture-of-resolution adapters (luogen1996/LLaVA-HR
// llava_hr/model/multimodal_encoder/multipath_encoder_wapper.py): S2FStitchAlignModuleV2 injects the
// ConvNeXt map into the CLIP tokens between layer groups; MultiPathAlignModule joins both at the end.
#pragma once

#include <torch/nn/module.h>

#include "models/layers.h"

namespace pb {

// src [B, L, C] tokens of a square map brought to `dst_len` tokens as the original's
// src2dst_align does: bilinear (align_corners) upsampling in fp32 when smaller, avg_pool2d with
// kernel = stride = side ratio when larger, unchanged when equal. -> [B, dst_len, C]
at::Tensor hr_align_tokens(const at::Tensor& src, int64_t dst_len);

// S2FStitchAlignModuleV2: slow map -> 1x1 conv, GELU, 1x1 conv to the CLIP width, aligned to the
// CLIP grid; fast tokens + 1x1(GELU(7x7 depthwise)) of themselves; then a tanh gate from the mean
// of both adds the slow part.
class S2fAdapterImpl : public torch::nn::Module {
 public:
  S2fAdapterImpl(int64_t fast_dim, int64_t slow_dim, const at::TensorOptions& options);
  // fast [B, N, Dv] (N a square), slow [B, Cs, h, w] -> [B, N, Dv]
  at::Tensor forward(const at::Tensor& fast, const at::Tensor& slow) const;

 private:
  Conv2d slow_conv_{nullptr}, slow_proj_{nullptr}, fast_conv_{nullptr}, fast_proj_{nullptr};
  Linear gate_in_{nullptr}, gate_out_{nullptr};  // gate.0 [Dv/2, 2Dv], gate.2 [1, Dv/2]
};
TORCH_MODULE(S2fAdapter);

// MultiPathAlignModule: fast_proj(fast) + slow_proj(slow map as tokens, aligned to the CLIP grid).
class MultiPathAlignImpl : public torch::nn::Module {
 public:
  MultiPathAlignImpl(int64_t fast_dim, int64_t slow_dim, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& fast, const at::Tensor& slow) const;  // [B, N, Dv], [B, Cs, h, w] -> [B, N, Dv]

 private:
  Linear fast_proj_{nullptr}, slow_proj_{nullptr};
};
TORCH_MODULE(MultiPathAlign);

}  // namespace pb
