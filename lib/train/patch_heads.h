// Training-only auxiliary heads of train-synth: linear classifiers of each patch's colour, shape and
// sign character (synth::patch_labels) from the vision features the projector reads. They give the
// vision tower, trained from scratch, a dense signal at every patch instead of only what reaches it
// back through the language model's attention; they are not part of the exported model.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/layers.h"

namespace pb {

struct PatchHeadLoss {
  at::Tensor loss;               // scalar fp32: mean over the three heads of (mean cross-entropy over all
                                 // patches + mean over the patches that head labels)
  int64_t object_patches = 0;    // patches on an object
  int64_t colour_right = 0;      // of which the colour head's argmax is right
  int64_t shape_right = 0;       // ... and the shape head's
  int64_t sign_patches = 0;      // patches on a sign character
  int64_t character_right = 0;   // of which the character head's argmax is right
};

class PatchHeadsImpl : public torch::nn::Module {
 public:
  // Seeded N(0, 0.02) weights, zero biases, as the model's random initialisation.
  PatchHeadsImpl(int64_t vision_width, uint64_t seed);
  // features [B, P, Dv] (any float dtype), labels [B, 3, P] int64.
  PatchHeadLoss loss(const at::Tensor& features, const at::Tensor& labels) const;

 private:
  Linear colour_{nullptr}, shape_{nullptr}, character_{nullptr};
};
TORCH_MODULE(PatchHeads);

// Training-only: a linear read (at unit RMS) of a centre (column, row, as fractions of the image side):
// an object's, from the language model's residual at a mention of it (BatchLoss::position_inputs), or a
// patch's own, from the projector's output (patch_centres). A relation question ("left or right of")
// is then a comparison of two linear features its answer position can fetch (split routing); nothing
// else makes the mentions carry where their objects are.
class PositionHeadImpl : public torch::nn::Module {
 public:
  PositionHeadImpl(int64_t text_width, uint64_t seed);  // N(0, 0.02) weights, biases 0.5 (the centre)
  struct Loss {
    at::Tensor loss;         // mean squared error over both coordinates
    double mean_error = 0;   // mean absolute error, as a fraction of the image side (over the emphasised rows, if any)
  };
  // inputs [N, D] (any float dtype; read at unit RMS), targets [N, 2] fp32. With `emphasised` [N] bool,
  // the loss adds those rows' own mean squared error (as PatchHeads adds the labelled patches' mean).
  Loss loss(const at::Tensor& inputs, const at::Tensor& targets, const at::Tensor& emphasised = {}) const;

 private:
  Linear centre_{nullptr};
};
TORCH_MODULE(PositionHead);

// Each patch's own centre (column, row, as fractions of the image side) for `images` images of a
// grid x grid patch grid, row-major as the image tokens: [images * grid * grid, 2] fp32.
at::Tensor patch_centres(int64_t grid, int64_t images);

}  // namespace pb
