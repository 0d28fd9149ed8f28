// PruMerge+'s steps on one image, exposed so tests can check them on hand-built inputs (the
// method is `prumerge_plus` in pruners/prumerge_plus.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

// q, k [1+P, D] (layer input projections, biased, q unscaled) -> the CLS row of one full-width
// pseudo-head softmax(q k^T / sqrt(D)) over the patches: [P] fp32 (not renormalised after CLS is cut).
at::Tensor prumerge_cls_attention(const at::Tensor& q, const at::Tensor& k);

// Patches whose CLS attention exceeds Q3 + 1.5 IQR (numpy.percentile's linear interpolation).
int64_t prumerge_outlier_count(const at::Tensor& cls_attention);

// The kept patches in the official order: the int(P * ratio) highest-attention patches (descending)
// with ratio = outliers / P, then the stride-int(int(1/ratio)/3) samples 0, s, 2s, ... < P - 1 that
// are not among them. pb::Error when there are no outliers or the stride is 0.
at::Tensor prumerge_plus_select(const at::Tensor& cls_attention);

// features [P, D], keys [P, D] (the patches' full-width keys), cls_attention [P], kept [k] ->
// [k + 1, D]: each kept row plus the CLS-attention-weighted (unnormalised) sum of its `neighbours`
// most key-cosine-similar other patches (original features), then one extra row: the weighted sum
// of every patch not kept.
at::Tensor prumerge_merge(const at::Tensor& features, const at::Tensor& keys, const at::Tensor& cls_attention,
                          const at::Tensor& kept, int64_t neighbours);

}  // namespace pb
