#include "models/layers.h"

#include <ATen/ATen.h>

#include "core/cpu_features.h"

namespace pb {

at::Tensor attention_values(const at::Tensor& probs, const at::Tensor& values) {
  if (values.scalar_type() == at::kBFloat16 && values.is_cpu() && !cpu_has_native_bf16()) {
    // [..., len, hd] with hd-major storage: the GEMM sees a transposed right operand.
    return at::matmul(probs, values.transpose(-1, -2).contiguous().transpose(-1, -2));
  }
  return at::matmul(probs, values);
}

torch::nn::Module& child_module(torch::nn::Module& parent, const std::string& name) {
  if (auto* found = parent.named_children().find(name)) {
    return **found;
  }
  return *parent.register_module(name, std::make_shared<torch::nn::Module>());
}

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool has_bias,
                       const at::TensorOptions& options) {
  weight = register_parameter("weight", at::empty({out_features, in_features}, options), false);
  if (has_bias) {
    bias = register_parameter("bias", at::empty({out_features}, options), false);
  }
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const { return at::linear(x, weight, bias); }

LayerNormImpl::LayerNormImpl(int64_t dim, double eps_, const at::TensorOptions& options) : eps(eps_) {
  weight = register_parameter("weight", at::empty({dim}, options), false);
  bias = register_parameter("bias", at::empty({dim}, options), false);
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) const {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride_,
                       int64_t padding_, int64_t groups_, const at::TensorOptions& options)
    : stride(stride_), padding(padding_), groups(groups_) {
  weight = register_parameter("weight", at::empty({out_channels, in_channels / groups, kernel, kernel}, options), false);
  bias = register_parameter("bias", at::empty({out_channels}, options), false);
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) const {
  return at::conv2d(x, weight, bias, /*stride=*/stride, /*padding=*/padding, /*dilation=*/1, groups);
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps_, const at::TensorOptions& options) : eps(eps_) {
  weight = register_parameter("weight", at::empty({dim}, options), false);
}

at::Tensor RmsNormImpl::forward(const at::Tensor& x) const {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

}  // namespace pb
