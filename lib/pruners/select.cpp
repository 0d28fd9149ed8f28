#include "pruners/select.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace pb {

at::Tensor top_k_indices(const at::Tensor& scores, int64_t k) {
  // NaN ranks lowest so the order stays a strict weak ordering.
  const at::Tensor s = at::nan_to_num(scores.detach().to(at::kCPU).to(at::kDouble), -INFINITY).contiguous();
  const int64_t n = s.numel();
  PB_CHECK(k >= 0 && k <= n, "top_k_indices: k out of range");
  const double* v = s.data_ptr<double>();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  // Score descending, then index ascending; partial sort is enough for the first k.
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [v](int64_t a, int64_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  order.resize(static_cast<size_t>(k));
  std::sort(order.begin(), order.end());
  return at::tensor(order, at::kLong);
}

at::Tensor rows_keeping_visual(int64_t rows, int64_t begin, int64_t len, const at::Tensor& kept_visual) {
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(rows - len + kept_visual.numel()));
  for (int64_t r = 0; r < begin; ++r) keep.push_back(r);
  const at::Tensor kv = kept_visual.to(at::kCPU).contiguous();
  const int64_t* p = kv.data_ptr<int64_t>();
  for (int64_t i = 0; i < kv.numel(); ++i) keep.push_back(begin + p[i]);
  for (int64_t r = begin + len; r < rows; ++r) keep.push_back(r);
  return at::tensor(keep, at::kLong);
}

}  // namespace pb
