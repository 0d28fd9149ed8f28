// An observer that records, for every decoder layer, the attention row of the last position
// ([H, T] fp32), as the golden references' lm_last_row_attention holds it.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "models/prefill_hooks.h"

namespace pb {

class LastRowAttentionRecorder : public PrefillObserver {
 public:
  bool wants_attention(int64_t) const override { return true; }
  void after_layer(int64_t, SequenceState&, const at::Tensor& attention) override {
    rows.push_back(attention.select(1, attention.size(1) - 1));  // [H, T, T] -> [H, T]
  }
  std::vector<at::Tensor> rows;  // [L] of [H, T]
};

}  // namespace pb
