#include "models/hr_vision_tower.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/modules/container/modulelist.h>

#include "core/error.h"

namespace pb {

HrVisionTowerImpl::HrVisionTowerImpl(const LlavaConfig& cfg, const at::TensorOptions& options)
    : options_(options),
      input_size_(cfg.hr.input_image_size), fast_size_(cfg.hr.fast_image_size()), patch_size_(cfg.vision.patch_size) {
  PB_CHECK(cfg.vision.num_hidden_layers % 4 == 0, "LLaVA-HR needs the CLIP layers in four equal groups");
  const int64_t dv = cfg.vision.hidden_size, ds = cfg.hr.slow.dims[3];
  fast_ = register_module("fast_vision_tower", ClipVisionTower(cfg.vision, cfg.vision.num_hidden_layers, options));
  slow_ = register_module("slow_vision_tower", ConvNext(cfg.hr.slow, options));
  if (cfg.hr.adapters) {
    auto list = register_module("align_stages_latent", torch::nn::ModuleList());
    for (int i = 0; i < 3; ++i) {
      latent_.push_back(S2fAdapter(dv, ds, options));
      list->push_back(latent_.back());
    }
  }
  auto list = register_module("align_stages", torch::nn::ModuleList());
  align_ = MultiPathAlign(dv, ds, options);
  list->push_back(align_);
}

at::Tensor HrVisionTowerImpl::forward(const at::Tensor& pixels) const {
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != input_size_ || pixels.size(3) != input_size_) {
    throw Error(fmt::format("LLaVA-HR pixel_values must be [B, 3, {}, {}] (input_image_size), got {}", input_size_,
                            input_size_, c10::str(pixels.sizes())));
  }
  const at::Tensor x = pixels.to(options_);  // [B, 3, S, S] in the compute dtype, on the device
  // The CLIP branch sees the normalised image downsampled (bilinear, align_corners) in fp32.
  const at::Tensor small = at::upsample_bilinear2d(x.to(at::kFloat), {fast_size_, fast_size_}, /*align_corners=*/true,
                                                   c10::nullopt, c10::nullopt)
                               .to(x.scalar_type());
  at::Tensor y = fast_->embed_patches_resampled(small);  // [B, N, Dv]
  const at::Tensor slow = slow_->forward(x);              // [B, Cs, S/32, S/32], run once, used 4 times
  const int64_t group = fast_->layers_to_run() / 4;
  for (int64_t g = 0; g < 4; ++g) {
    for (int64_t i = g * group; i < (g + 1) * group; ++i) y = fast_->layer(i)->forward(y, nullptr);
    if (g < 3 && !latent_.empty()) y = latent_[static_cast<size_t>(g)]->forward(y, slow);
  }
  return align_->forward(y, slow);
}

}  // namespace pb
