// ToMe's pieces, exposed so tests can check them on hand-built inputs (the method is `tome` in
// pruners/tome.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace pb {

struct TomeMerge {
  at::Tensor hidden;  // [T - r, D]: unmerged A tokens (ascending, CLS first), then every B token
  at::Tensor target;  // [T] int64: the output row each input row went to
};

// One bipartite soft matching step as llmc's bipartite_soft_matching + merge_wavg (class token
// protected, no size passed): hidden [T, D], metric [T, c] (head-mean keys). A = even rows,
// B = odd rows; the r A rows most cosine-similar to their best B row merge into it as the plain
// mean of the B row and its sources; r is capped at (T - 1) // 2.
TomeMerge tome_merge(const at::Tensor& hidden, const at::Tensor& metric, int64_t r);

// r per tower layer that removes `remove` tokens over `layers` layers starting from `tokens` rows
// (CLS included): ceil(left / layers left) each, raised where later layers could otherwise not reach
// the budget, capped at (t - 1) // 2. pb::Error if unreachable.
std::vector<int64_t> tome_schedule(int64_t tokens, int64_t remove, int64_t layers);

}  // namespace pb
