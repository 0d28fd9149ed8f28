// LLaVA-HR's dual-path vision tower (luogen1996/LLaVA-HR
// llava_hr/model/multimodal_encoder/multipath_encoder_wapper.py, MultiPathCLIPVisionTower.forward):
// a CLIP ViT on a downsampled copy of the image and a ConvNeXt on the full image, joined by
// mixture-of-resolution adapters. docs/llava_hr.md lists what the original does and why.
#pragma once

#include <torch/nn/module.h>

#include <vector>

#include "io/model_config.h"
#include "models/clip_vision.h"
#include "models/convnext.h"
#include "models/hr_adapters.h"

namespace pb {

class HrVisionTowerImpl : public torch::nn::Module {
 public:
  HrVisionTowerImpl(const LlavaConfig& cfg, const at::TensorOptions& options);
  // pixels [B, 3, S, S] normalised at input_image_size (fp32 or the compute dtype) -> the
  // MultiPathAlignModule output [B, N, Dv], N = (fast_image_size / patch)^2 (1024 at S = 1024).
  at::Tensor forward(const at::Tensor& pixels) const;
  int64_t fast_grid() const { return fast_size_ / patch_size_; }

 private:
  at::TensorOptions options_;
  int64_t input_size_, fast_size_, patch_size_;
  ClipVisionTower fast_{nullptr};  // fast_vision_tower: every CLIP layer runs
  ConvNext slow_{nullptr};         // slow_vision_tower
  std::vector<S2fAdapter> latent_;  // align_stages_latent.{0,1,2}; empty when freeze_vision
  MultiPathAlign align_{nullptr};   // align_stages.0
};
TORCH_MODULE(HrVisionTower);

}  // namespace pb
