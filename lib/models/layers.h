// Minimal parameter-holding layers. Unlike torch::nn::Linear they allocate their parameters
// uninitialised in the compute dtype (no fp32 Kaiming init of 7B weights that loading overwrites).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace pb {

// The child module `name` of `parent`, created as a plain container if absent. LibTorch names may
// not contain dots, so "mlp.fc1" is built as child "mlp" holding "fc1"; named_parameters() then
// yields checkpoint-style names.
torch::nn::Module& child_module(torch::nn::Module& parent, const std::string& name);

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // [..., in] -> [..., out]
  at::Tensor weight;                              // [out, in]
  at::Tensor bias;                                // [out] or undefined
};
TORCH_MODULE(Linear);

class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight, bias;  // [dim]
  double eps;
};
TORCH_MODULE(LayerNorm);

// LLaMA RMSNorm as transformers' LlamaRMSNorm: normalise in fp32, cast back, then scale.
class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;  // [dim]
  double eps;
};
TORCH_MODULE(RmsNorm);

}  // namespace pb
