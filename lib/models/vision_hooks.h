// Hook into the CLIP tower's layers, for methods that change the token set within the tower
// (ToMe). Kept apart from clip_vision.h so pruners see it without the module headers.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

// Called inside every tower layer between attention (residual added) and the MLP. The unhooked
// forward never pays for it.
class VisionLayerHook {
 public:
  virtual ~VisionLayerHook() = default;
  virtual void begin(int64_t tokens) = 0;  // a forward starts with `tokens` rows (CLS first)
  // hidden [B, T, D] after the attention residual; keys [B, H, T, hd] this layer attended with.
  // Returns the new hidden [B, T', D], or an undefined tensor to leave the rows as they are.
  virtual at::Tensor after_attention(int64_t layer, const at::Tensor& hidden, const at::Tensor& keys) = 0;
};

}  // namespace pb
