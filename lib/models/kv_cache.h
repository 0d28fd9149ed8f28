// Per-layer key/value cache for greedy decoding. Each layer keeps its own length, because a pruning
// method may leave earlier layers with more rows than later ones.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

namespace pb {

class KvCache {
 public:
  KvCache() = default;
  // Reserves `capacity` rows per layer up front so that decoding appends without reallocation.
  KvCache(int64_t layers, int64_t kv_heads, int64_t head_dim, int64_t capacity,
          const at::TensorOptions& options);
  // Appends k, v [Hkv, t, hd] to `layer`; returns views of all its rows [Hkv, len, hd].
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);
  // Keeps only `rows` ([k] int64, ascending indices into the layer's current rows).
  void keep_rows(int64_t layer, const at::Tensor& rows);
  at::Tensor keys(int64_t layer) const;  // the layer's post-RoPE keys: [Hkv, len, hd] view
  int64_t length(int64_t layer) const { return length_[static_cast<size_t>(layer)]; }
  int64_t layers() const { return static_cast<int64_t>(k_.size()); }

 private:
  void grow(size_t layer, int64_t min_capacity);
  std::vector<at::Tensor> k_, v_;  // [Hkv, capacity, hd] each
  std::vector<int64_t> length_;
};

}  // namespace pb
