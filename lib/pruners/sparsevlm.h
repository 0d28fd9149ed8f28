// SparseVLM's pieces on plain tensors, exposed for tests (pruners/sparsevlm.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pb {

// v1.5 fixed schedules (Gumpest/SparseVLMs main, llava/model/language_model/score.py): image tokens
// kept after each pruning layer for a budget of 192, 128, 96 or 64. pb::Error for other budgets.
std::vector<int64_t> sparsevlm_v15_schedule(int64_t budget);

// v1 rank-adaptive count k = int(rank * scale + bias) (commit b72c5d6, score.py attn_postprocess_rank):
// the README's scale/bias for 192, 128 and 64. pb::Error for other budgets.
struct SparsevlmScaleBias {
  double scale, bias;
};
SparsevlmScaleBias sparsevlm_v1_scale_bias(int64_t budget);

// Text raters from the LLM input embeddings: softmax over text of image x text similarities, mean
// over image rows, and the text rows scoring above the mean. image [V, D], text [Tt, D] ->
// [r] int64 ascending indices into `text`.
at::Tensor sparsevlm_raters(const at::Tensor& image, const at::Tensor& text);

// Recycled tokens of one pruning step: `cluster_num` = int(n / 10) + 1 for n tokens to recycle,
// and n = int(pruned * 0.3) + 1 for `pruned` dropped image tokens.
int64_t sparsevlm_recycled(int64_t pruned);
int64_t sparsevlm_cluster_num(int64_t n);

// DPC-kNN clustering and merging (utils.py cluster_and_merge): x [N, C] -> [clusters, C], each row
// the average (sum / (count + 1e-6)) of its cluster, clusters in descending center-score order.
// `assignment` (if given) receives [N] int64 cluster of each row.
at::Tensor sparsevlm_cluster_and_merge(const at::Tensor& x, int64_t clusters, at::Tensor* assignment = nullptr);

}  // namespace pb
