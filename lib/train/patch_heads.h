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

}  // namespace pb
