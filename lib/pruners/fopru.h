// FoPru's two steps, exposed so tests can check them on hand-built attention maps
// (the method itself is `fopru` in pruners/fopru.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

enum class FopruStrategy { kRank, kRow };

struct FopruSignificance {
  at::Tensor scores;  // [P] fp32: one score per patch token
  bool column = false;  // true: column mean (attention received) won; false: row mean
};

// attention [H, 1+P, 1+P] post-softmax (CLS first) -> significance of the P patch tokens: CLS row
// and column removed, mean over heads, then the column mean or the row mean, whichever has the
// larger unbiased variance (the row mean on a tie).
FopruSignificance fopru_significance(const at::Tensor& attention);

// Kept patch indices ([k] int64 ascending, raster order) from `scores` [grid*grid]:
// kRank keeps the `count` highest tokens; kRow keeps the `count` grid rows with the highest sums.
at::Tensor fopru_select(const at::Tensor& scores, FopruStrategy strategy, int64_t count, int64_t grid);

}  // namespace pb
