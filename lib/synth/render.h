// Draws a SynthVQA scene with OpenCV: a textured, cluttered background (muted colours, so the
// saturated objects are the informative tokens), the objects and the sign.
#pragma once

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "synth/scene.h"

namespace pb::synth {

// [height, width] CV_8UC3 BGR. Consumes draws from `rng` (background and clutter), so rendering is
// part of a sample's seeded stream.
cv::Mat render_scene(const Scene& scene, Rng& rng);

// The fraction of the 24x24 patches of the LLaVA-1.5 input (padded to a square, 336 px) that some
// object or the sign touches: the informative part of the image.
double informative_patch_fraction(const Scene& scene);

// Per-patch ground truth of the LLaVA-1.5 input grid (the image padded to a centred square of its
// longer side, cut into grid x grid patches), read at each patch's centre pixel; 0 = nothing there.
// colour: 1 + Colour, shape: 1 + Shape (the object drawn there, without anti-aliasing), character:
// 1 + the index in kSignCharacters of the sign character there (the text taken as equal-width
// slices). Row-major, grid * grid each. Used by train-synth's auxiliary patch loss.
struct PatchLabels {
  std::vector<int64_t> colour, shape, character;
  // 1 + the position of the patch's character in the sign text (0 = none): the reading order.
  std::vector<int64_t> slot;
  // 1 on the patch that holds an object's centre (0 elsewhere): one patch per object instance, what a
  // count needs when objects of different sizes cover different numbers of patches.
  std::vector<int64_t> centre;
};
inline constexpr int64_t kPatchSlotClasses = 4;  // none + a sign's 1-3 characters (draw_sign_text)
inline constexpr int64_t kPatchColourClasses = 1 + static_cast<int64_t>(kColours.size());
inline constexpr int64_t kPatchShapeClasses = 1 + static_cast<int64_t>(kShapes.size());
inline constexpr int64_t kPatchCharacterClasses =
    1 + static_cast<int64_t>(std::char_traits<char>::length(kSignCharacters));
PatchLabels patch_labels(const Scene& scene, int grid = 24);

}  // namespace pb::synth
