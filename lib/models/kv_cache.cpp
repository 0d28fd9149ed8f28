#include "models/kv_cache.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace pb {

KvCache::KvCache(int64_t layers, int64_t kv_heads, int64_t head_dim, int64_t capacity,
                 const at::TensorOptions& options)
    : length_(static_cast<size_t>(layers), 0) {
  for (int64_t l = 0; l < layers; ++l) {
    k_.push_back(at::empty({kv_heads, capacity, head_dim}, options));
    v_.push_back(at::empty({kv_heads, capacity, head_dim}, options));
  }
}

void KvCache::grow(size_t layer, int64_t min_capacity) {
  const int64_t capacity = std::max(min_capacity, 2 * k_[layer].size(1));
  for (auto* buffers : {&k_, &v_}) {
    at::Tensor& old = (*buffers)[layer];
    at::Tensor bigger = at::empty({old.size(0), capacity, old.size(2)}, old.options());
    bigger.narrow(1, 0, length_[layer]).copy_(old.narrow(1, 0, length_[layer]));
    old = bigger;
  }
}

std::pair<at::Tensor, at::Tensor> KvCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  const auto l = static_cast<size_t>(layer);
  PB_CHECK(l < k_.size(), "cache layer out of range");
  const int64_t t = k.size(1), len = length_[l];
  if (len + t > k_[l].size(1)) {
    grow(l, len + t);
  }
  k_[l].narrow(1, len, t).copy_(k);
  v_[l].narrow(1, len, t).copy_(v);
  length_[l] = len + t;
  return {k_[l].narrow(1, 0, len + t), v_[l].narrow(1, 0, len + t)};
}

at::Tensor KvCache::keys(int64_t layer) const {
  const auto l = static_cast<size_t>(layer);
  PB_CHECK(l < k_.size(), "cache layer out of range");
  return k_[l].narrow(1, 0, length_[l]);
}

void KvCache::keep_rows(int64_t layer, const at::Tensor& rows) {
  const auto l = static_cast<size_t>(layer);
  const int64_t kept = rows.size(0);
  for (auto* buffers : {&k_, &v_}) {
    at::Tensor& buf = (*buffers)[l];
    const at::Tensor gathered = buf.narrow(1, 0, length_[l]).index_select(1, rows.to(buf.device()));
    buf.narrow(1, 0, kept).copy_(gathered);
  }
  length_[l] = kept;
}

}  // namespace pb
