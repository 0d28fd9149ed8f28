// Minimal parameter-holding layers. Unlike torch::nn::Linear they allocate their parameters
// uninitialised in the compute dtype (no fp32 Kaiming init of 7B weights that loading overwrites).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace pb {

// probs @ values of an attention: [..., T, len] x [..., len, hd] -> [..., T, hd], both in the compute dtype.
// LibTorch 1.13's CPU bf16 GEMM without native bf16 instructions (at::native::cpublas, used when oneDNN
// has no bf16 kernel for the CPU) accumulates in bf16 when the right operand is not transposed, so the
// error grows with len: on an AVX2-only AMD EPYC, [636 x 636] x [636 x 32] came out with 1.03% relative
// error where fp32 accumulation gives 0.17%, and the golden bf16 logits fell below the 0.995 cosine bound
// (docs/model.md). On such CPUs the values are handed over in transposed layout, which takes the
// fp32-accumulating kernel; elsewhere (fp32, CUDA, AMX) this is at::matmul unchanged.
at::Tensor attention_values(const at::Tensor& probs, const at::Tensor& values);

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

// torch.nn.Conv2d with square kernels, stride and symmetric zero padding (LLaVA-HR's ConvNeXt and
// adapters). groups == in_channels makes it depthwise.
class Conv2dImpl : public torch::nn::Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding,
             int64_t groups, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x) const;  // [B, in, H, W] -> [B, out, H', W']
  at::Tensor weight;                              // [out, in / groups, k, k]
  at::Tensor bias;                                // [out]
  int64_t stride, padding, groups;
};
TORCH_MODULE(Conv2d);

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
