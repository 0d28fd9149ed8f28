// DART's selection on plain tensors, exposed for tests (pruners/dart.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

struct DartSelection {
  at::Tensor image_pivots;  // [pi] int64 ascending, indices into the image span
  at::Tensor text_pivots;   // [pt] int64 ascending, indices into the rows after the image span
  at::Tensor kept;          // [k] int64 ascending, indices into the image span
};

// keys [T, Hkv*hd]: layer K-1's post-RoPE keys, heads concatenated; normed [T, D]: layer K-1's output
// through the final RMSNorm; the image span is [begin, begin + len), text rows are those after it.
// Pivots are the rows with the largest key L1 norm; each pivot (ascending row order) adds the
// `per_pivot` candidates with the lowest cosine similarity to it.
DartSelection dart_select(const at::Tensor& keys, const at::Tensor& normed, int64_t begin, int64_t len,
                          int64_t pivot_image, int64_t pivot_text, int64_t per_pivot);

}  // namespace pb
