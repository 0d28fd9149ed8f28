#include "models/hr_adapters.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace pb {
namespace {

int64_t square_side(int64_t tokens) {
  const auto side = static_cast<int64_t>(std::sqrt(static_cast<double>(tokens)));  // int(math.sqrt(l))
  PB_CHECK(side * side == tokens, "LLaVA-HR adapters need a square token grid");
  return side;
}

// [B, C, h, w] -> [B, h*w, C]
at::Tensor map_to_tokens(const at::Tensor& map) { return map.reshape({map.size(0), map.size(1), -1}).transpose(1, 2); }

}  // namespace

at::Tensor hr_align_tokens(const at::Tensor& src, int64_t dst_len) {
  const int64_t len = src.size(1);
  if (len == dst_len) return src;
  if (len % dst_len != 0 && dst_len % len != 0) {  // the original asserts this
    throw Error(fmt::format("LLaVA-HR: {} slow tokens cannot be aligned to {} fast tokens", len, dst_len));
  }
  const int64_t b = src.size(0), c = src.size(2), src_side = square_side(len), dst_side = square_side(dst_len);
  const at::Tensor map = src.transpose(1, 2).reshape({b, c, src_side, src_side});  // [B, C, s, s]
  if (len < dst_len) {
    const at::Tensor up = at::upsample_bilinear2d(map.to(at::kFloat), {dst_side, dst_side}, /*align_corners=*/true,
                                                  c10::nullopt, c10::nullopt);
    return map_to_tokens(up.to(src.scalar_type()));
  }
  const int64_t k = src_side / dst_side;
  return map_to_tokens(at::avg_pool2d(map, {k, k}, {k, k}));
}

S2fAdapterImpl::S2fAdapterImpl(int64_t fast_dim, int64_t slow_dim, const at::TensorOptions& options) {
  slow_conv_ = register_module("slow_conv", Conv2d(slow_dim, slow_dim, 1, 1, 0, 1, options));
  slow_proj_ = register_module("slow_proj", Conv2d(slow_dim, fast_dim, 1, 1, 0, 1, options));
  fast_conv_ = register_module("fast_conv", Conv2d(fast_dim, fast_dim, /*kernel=*/7, 1, /*padding=*/3,
                                                   /*groups=*/fast_dim, options));
  fast_proj_ = register_module("fast_proj", Conv2d(fast_dim, fast_dim, 1, 1, 0, 1, options));
  torch::nn::Module& gate = child_module(*this, "gate");  // Sequential(Linear, GELU, Linear)
  gate_in_ = gate.register_module("0", Linear(2 * fast_dim, fast_dim / 2, true, options));
  gate_out_ = gate.register_module("2", Linear(fast_dim / 2, 1, true, options));
}

at::Tensor S2fAdapterImpl::forward(const at::Tensor& fast, const at::Tensor& slow) const {
  const int64_t b = fast.size(0), n = fast.size(1), d = fast.size(2), side = square_side(n);
  const at::Tensor slow_tokens = map_to_tokens(slow_proj_->forward(at::gelu(slow_conv_->forward(slow))));  // [B, hw, Dv]
  const at::Tensor slow_aligned = hr_align_tokens(slow_tokens, n);                                       // [B, N, Dv]
  at::Tensor f = fast.transpose(1, 2).reshape({b, d, side, side});  // [B, Dv, side, side]
  f = f + fast_proj_->forward(at::gelu(fast_conv_->forward(f)));
  f = map_to_tokens(f);  // [B, N, Dv]
  const at::Tensor gate =
      gate_out_->forward(at::gelu(gate_in_->forward(at::cat({f, slow_aligned}, -1).mean(1)))).unsqueeze(1);  // [B, 1, 1]
  return f + slow_aligned * gate.tanh();
}

MultiPathAlignImpl::MultiPathAlignImpl(int64_t fast_dim, int64_t slow_dim, const at::TensorOptions& options) {
  fast_proj_ = register_module("fast_proj", Linear(fast_dim, fast_dim, true, options));
  slow_proj_ = register_module("slow_proj", Linear(slow_dim, fast_dim, true, options));
}

at::Tensor MultiPathAlignImpl::forward(const at::Tensor& fast, const at::Tensor& slow) const {
  const at::Tensor slow_tokens = hr_align_tokens(map_to_tokens(slow), fast.size(1));  // [B, N, Cs]
  return fast_proj_->forward(fast) + slow_proj_->forward(slow_tokens);
}

}  // namespace pb
