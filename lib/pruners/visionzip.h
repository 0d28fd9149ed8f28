// VisionZip's two steps on one image, exposed so tests can check them on hand-built inputs (the
// method is `visionzip` in pruners/visionzip.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

struct VisionZipResult {
  at::Tensor features;   // [dominant + contextual, D]: dominant rows (CLS first), then contextual
  at::Tensor dominant;   // [dominant] int64 token indices (CLS = 0, patch p = p + 1), ascending
  at::Tensor remaining;  // [R] int64 token indices not dominant, ascending (R = 1 + P - dominant)
  at::Tensor targets;    // [contextual] int64 positions into `remaining` (0, step, 2 step, ...)
  at::Tensor assigned;   // [R - contextual] int64: the target (0..contextual-1) each other remaining token joins
};

// attention [H, 1+P, 1+P] (the feature layer's softmax), tokens [1+P, D] (its output, CLS first),
// keys [1+P, H, hd] (its keys). `dominant` counts CLS; `contextual` may be 0.
VisionZipResult visionzip_compress(const at::Tensor& attention, const at::Tensor& tokens, const at::Tensor& keys,
                                   int64_t dominant, int64_t contextual);

// The contextual share of a `tokens:N` budget: round(N * 5/32), the ratio of every published
// LLaVA-1.5 setting (64 = 54 + 10, 128 = 108 + 20, 192 = 162 + 30; VisionZip Tables 8/9).
int64_t visionzip_contextual_for(int64_t tokens);

}  // namespace pb
