// LLaVA multimodal projector: `mlp2x_gelu` (linear_1 -> exact-erf GELU -> linear_2, LLaVA-1.5) or a
// single `linear` layer (LLaVA-1.0); llava-hf names linear_1 / linear_2.
#pragma once

#include <torch/nn/module.h>

#include "io/model_config.h"
#include "models/layers.h"

namespace pb {

class ProjectorImpl : public torch::nn::Module {
 public:
  ProjectorImpl(const LlavaConfig& cfg, int64_t in_features, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& features) const;  // [..., Dv * n_feature_layers] -> [..., D]

 private:
  Linear linear_1_{nullptr}, linear_2_{nullptr};
};
TORCH_MODULE(Projector);

}  // namespace pb
