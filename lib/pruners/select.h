// Selection helpers every method uses, so ties are broken one way everywhere: stable order by score
// descending then index ascending (the official codes use torch.topk/sort, whose tie order is
// implementation-defined; pruners.md §0.6), and kept indices returned ascending.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace pb {

// Indices of the k highest scores ([n] any float dtype) -> [k] int64 ascending.
at::Tensor top_k_indices(const at::Tensor& scores, int64_t k);

// Rows of a sequence to keep when only the visual span [begin, begin + len) is pruned and
// `kept_visual` ([k] int64 ascending, indices into the span) survive: every other row plus those.
at::Tensor rows_keeping_visual(int64_t rows, int64_t begin, int64_t len, const at::Tensor& kept_visual);

}  // namespace pb
