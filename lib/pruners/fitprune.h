// FitPrune's attention statistics of the remaining visual tokens at one layer, shared by inference
// (fitprune.cpp) and calibration (fitprune_calibrate.cpp). Both take H = max over heads of the layer's
// softmax (pruners.md §0.5: FitPrune is the one method that aggregates heads by max).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

struct FitpruneVisualMass {
  at::Tensor cross;        // [v] f64: Σ over the text rows after the image of H[i, j] (a plain sum)
  at::Tensor self;         // [v] f64: Σ over the image rows of H[i, j], divided by v
  int64_t text_rows = 0;   // rows after the image span (calibration averages cross over them)
};

// `attention` [H, T, T] fp32 softmax of the current rows; the visual span is rows/columns
// [image_begin, image_begin + image_len). Results on the CPU.
FitpruneVisualMass fitprune_visual_mass(const at::Tensor& attention, int64_t image_begin, int64_t image_len);

// Inference selection (pruners.md §1.4): score_j = cross_j * self_j and the `n_delete` lowest go
// (all of them when n_delete >= v). Returns the kept visual indices [v - n] int64 ascending; ties keep
// the lower index (pruners/select.h), where the official code's torch.sort leaves the order undefined.
at::Tensor fitprune_keep_visual(const at::Tensor& attention, int64_t image_begin, int64_t image_len, int64_t n_delete);

}  // namespace pb
