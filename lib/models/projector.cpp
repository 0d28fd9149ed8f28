#include "models/projector.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"

namespace pb {

ProjectorImpl::ProjectorImpl(const LlavaConfig& cfg, int64_t in_features, const at::TensorOptions& options) {
  const int64_t d = cfg.text.hidden_size;
  const bool bias = cfg.multimodal_projector_bias;
  linear_1_ = register_module("linear_1", Linear(in_features, d, bias, options));
  if (cfg.projector_type == "mlp2x_gelu") {
    if (cfg.projector_hidden_act != "gelu") {
      throw Error(fmt::format("{}: projector_hidden_act '{}' is not supported (gelu)", cfg.source,
                              cfg.projector_hidden_act));
    }
    linear_2_ = register_module("linear_2", Linear(d, d, bias, options));
  } else if (cfg.projector_type != "linear") {
    throw Error(fmt::format("{}: projector type '{}' is not supported (mlp2x_gelu, linear)", cfg.source,
                            cfg.projector_type));
  }
}

at::Tensor ProjectorImpl::forward(const at::Tensor& features) const {
  at::Tensor h = linear_1_->forward(features.to(linear_1_->weight.scalar_type()));
  if (linear_2_) {
    h = linear_2_->forward(at::gelu(h));  // exact erf GELU: nn.GELU() in LLaVA, ACT2FN["gelu"] in HF
  }
  return h;
}

}  // namespace pb
