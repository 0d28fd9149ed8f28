// `pool`: average pooling of the patch grid down to the budget, before the projector (pruners.md
// §4.10): a control beside `random` that keeps every patch's information at a coarser resolution.
#include "pruners/pool.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "pruners/methods.h"
#include "spec/model_spec.h"

namespace pb {

std::pair<int64_t, int64_t> pool_shape(int64_t tokens, int64_t grid) {
  PB_CHECK(tokens >= 1, "pool: tokens must be positive");
  int64_t rows = 1;
  for (int64_t r = 1; r * r <= tokens; ++r) {
    if (tokens % r == 0) rows = r;
  }
  const int64_t cols = tokens / rows;
  if (cols > grid) {
    throw Error(fmt::format("pool: {} tokens factor at best as {}x{}, wider than the {}x{} patch grid", tokens, rows,
                            cols, grid, grid));
  }
  return {rows, cols};
}

at::Tensor pool_features(const at::Tensor& features, int64_t grid, int64_t rows, int64_t cols) {
  PB_CHECK(features.dim() == 2 && features.size(0) == grid * grid, "pool: features must be [grid*grid, D]");
  const int64_t d = features.size(1);
  // [P, D] -> [D, g, g]; pooled in fp32 (CPU bf16 pooling support varies), returned in the input dtype.
  const at::Tensor image = features.to(at::kFloat).t().reshape({d, grid, grid});
  const at::Tensor pooled = at::adaptive_avg_pool2d(image, {rows, cols});  // [D, rows, cols]
  return pooled.reshape({d, rows * cols}).t().contiguous().to(features.scalar_type());  // [rows*cols, D]
}

at::Tensor pool_representatives(int64_t grid, int64_t rows, int64_t cols) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) out.push_back((i * grid / rows) * grid + j * grid / cols);
  }
  return at::tensor(out, at::kLong);
}

namespace {

class PoolPruner : public Pruner {
 public:
  explicit PoolPruner(Budget budget) : budget_(std::move(budget)) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = pool_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    if (cfg.vision_feature_select_strategy == "full") {
      throw Error("pool: vision_feature_select_strategy 'full' is not supported: the CLS row is not on the patch grid");
    }
    grid_ = image_grid_side(cfg);  // 24 for CLIP-L/336, LLaVA-HR's 32
    n_ = image_tokens_per_image(cfg);
    std::tie(rows_, cols_) = pool_shape(budget_.keep_count(n_), grid_);
    return {{"kept", rows_ * cols_}, {"of", n_}, {"grid", fmt::format("{}x{}", rows_, cols_)},
            {"stage", "before projector"}};
  }
  int64_t nominal_kept() const override { return rows_ * cols_; }
  VisionStageOutput reduce_before_projector(const VisionStageInput& input) override {
    PB_CHECK(input.features.size(0) == n_, "pool: visual token count differs from the resolved one");
    return {pool_representatives(grid_, rows_, cols_), pool_features(input.features, grid_, rows_, cols_)};
  }

 private:
  Budget budget_;
  int64_t grid_ = 0, n_ = 0, rows_ = 0, cols_ = 0;
};

}  // namespace

PrunerInfo pool_info() {
  return {"pool",
          "Average-pool the patch grid to the budget (adaptive_avg_pool2d; 192 = 12x16, 144 = 12x12, 64 = 8x8)",
          "control (pruners.md §4.10)",
          "-",
          "reindex",
          {},
          AnyresHandling::kRefused,
          "it pools a single 24x24 grid; the unpadded grid is not a whole number of pooling windows"};
}

std::unique_ptr<Pruner> make_pool(const PrunerParams&, const Budget& budget) {
  if (budget.kind != Budget::Kind::kTokens && budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("pool: needs --budget tokens:N or keep:R");
  }
  return std::make_unique<PoolPruner>(budget);
}

}  // namespace pb
