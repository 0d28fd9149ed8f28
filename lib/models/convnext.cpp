#include "models/convnext.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <string>

namespace pb {

at::Tensor layer_norm_2d(const LayerNorm& norm, const at::Tensor& x) {
  return norm->forward(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

ConvNextBlockImpl::ConvNextBlockImpl(int64_t dim, double eps, const at::TensorOptions& options) {
  conv_dw_ = register_module("conv_dw", Conv2d(dim, dim, /*kernel=*/7, /*stride=*/1, /*padding=*/3, /*groups=*/dim, options));
  norm_ = register_module("norm", LayerNorm(dim, eps, options));
  torch::nn::Module& mlp = child_module(*this, "mlp");
  fc1_ = mlp.register_module("fc1", Linear(dim, 4 * dim, true, options));  // mlp_ratio 4
  fc2_ = mlp.register_module("fc2", Linear(4 * dim, dim, true, options));
  gamma_ = register_parameter("weight", at::empty({dim}, options), false);
}

at::Tensor ConvNextBlockImpl::forward(const at::Tensor& x) const {
  at::Tensor h = conv_dw_->forward(x).permute({0, 2, 3, 1});  // [B, H, W, C]
  h = fc2_->forward(at::gelu(fc1_->forward(norm_->forward(h))));
  h = h.permute({0, 3, 1, 2}).mul(gamma_.reshape({1, -1, 1, 1}));  // [B, C, H, W]
  return h + x;  // drop_path is the identity at inference
}

ConvNextStageImpl::ConvNextStageImpl(int64_t in_dim, int64_t dim, int64_t depth, bool downsample, double eps,
                                     const at::TensorOptions& options) {
  if (downsample) {  // stages 1-3 (stride 2); stage 0 keeps the stem's resolution and width
    torch::nn::Module& down = child_module(*this, "downsample");
    down_norm_ = down.register_module("0", LayerNorm(in_dim, eps, options));
    down_conv_ = down.register_module("1", Conv2d(in_dim, dim, /*kernel=*/2, /*stride=*/2, /*padding=*/0, 1, options));
  }
  auto list = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) {
    blocks_.push_back(ConvNextBlock(dim, eps, options));
    list->push_back(blocks_.back());
  }
}

at::Tensor ConvNextStageImpl::forward(const at::Tensor& x) const {
  at::Tensor h = down_conv_ ? down_conv_->forward(layer_norm_2d(down_norm_, x)) : x;
  for (const ConvNextBlock& block : blocks_) h = block->forward(h);
  return h;
}

ConvNextImpl::ConvNextImpl(const ConvNextConfig& cfg, const at::TensorOptions& options) : cfg_(cfg) {
  torch::nn::Module& stem = child_module(*this, "stem");
  stem_conv_ = stem.register_module("0", Conv2d(3, cfg.dims[0], /*kernel=*/4, /*stride=*/4, /*padding=*/0, 1, options));
  stem_norm_ = stem.register_module("1", LayerNorm(cfg.dims[0], cfg.norm_eps, options));
  auto list = register_module("stages", torch::nn::ModuleList());
  int64_t in_dim = cfg.dims[0];
  for (size_t i = 0; i < 4; ++i) {
    stages_.push_back(ConvNextStage(in_dim, cfg.dims[i], cfg.depths[i], /*downsample=*/i > 0, cfg.norm_eps, options));
    list->push_back(stages_.back());
    in_dim = cfg.dims[i];
  }
}

at::Tensor ConvNextImpl::forward(const at::Tensor& pixels) const {
  at::Tensor h = layer_norm_2d(stem_norm_, stem_conv_->forward(pixels.to(stem_conv_->weight.scalar_type())));
  for (const ConvNextStage& stage : stages_) h = stage->forward(h);
  return h;
}

}  // namespace pb
