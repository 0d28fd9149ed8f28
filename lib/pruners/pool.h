// The `pool` control's geometry, exposed for tests (the method is in pruners/pool.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace pb {

// {rows, cols} of the pooled grid for `tokens`: rows = the largest divisor of tokens with
// rows <= sqrt(tokens), cols = tokens / rows (192 -> 12x16, 128 -> 8x16, 64 -> 8x8, 144 -> 12x12).
// pb::Error when cols exceeds `grid`.
std::pair<int64_t, int64_t> pool_shape(int64_t tokens, int64_t grid);

// features [grid*grid, D] raster order -> [rows*cols, D]: adaptive_avg_pool2d over the patch grid
// (cell (i, j) averages rows [floor(i*g/rows), ceil((i+1)*g/rows)) x the same for columns).
at::Tensor pool_features(const at::Tensor& features, int64_t grid, int64_t rows, int64_t cols);

// [rows*cols] int64: the patch each pooled cell stands for, its window's top-left patch
// (distinct and ascending in raster order, since window starts strictly increase).
at::Tensor pool_representatives(int64_t grid, int64_t rows, int64_t cols);

}  // namespace pb
