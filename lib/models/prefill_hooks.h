// What the decoder loop exposes between layers, so that pruning methods can drop visual tokens
// (rows of the hidden state, and of the KV cache) and read attention where they ask for it.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace pb {

class KvCache;

struct SequenceState {
  at::Tensor hidden;         // [T, D] compute dtype
  at::Tensor positions;      // [T] int64: RoPE position of each row
  at::Tensor origin;         // [T] int64: index of each row in the unpruned spliced sequence
  int64_t image_begin = 0;   // first visual row in the current rows
  int64_t image_len = 0;     // number of visual rows
  KvCache* cache = nullptr;

  // Keeps only `rows` ([k] int64, ascending, indices into the current rows) of hidden, positions
  // and origin, and moves the image span accordingly. The KV cache of layers already run is left
  // alone: those layers did see the dropped rows (a method that also evicts them uses `cache`).
  void keep_rows(const at::Tensor& rows);
};

// Observer of the prefill layer loop. Attention probabilities are computed for the layers that
// wants_attention() names and for no others.
class PrefillObserver {
 public:
  virtual ~PrefillObserver() = default;
  virtual bool wants_attention(int64_t /*layer*/) const { return false; }
  // Inside decoder layer `layer`, after attention and before o_proj (FitPrune's pruning point):
  // returns the rows to keep ([k] int64 ascending), or an undefined tensor to keep all. The layer's own
  // KV cache keeps every row; o_proj, the MLP and later layers run on the kept rows.
  virtual at::Tensor after_attention(int64_t /*layer*/, const SequenceState& /*state*/,
                                     const at::Tensor& /*attention*/) {
    return {};
  }
  // After decoder layer `layer`; `attention` is its softmax [H, T, T] fp32 when asked, else undefined.
  virtual void after_layer(int64_t /*layer*/, SequenceState& /*state*/, const at::Tensor& /*attention*/) {}
};

}  // namespace pb
