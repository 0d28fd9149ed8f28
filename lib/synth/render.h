// Draws a SynthVQA scene with OpenCV: a textured, cluttered background (muted colours, so the
// saturated objects are the informative tokens), the objects and the sign.
#pragma once

#include <opencv2/core/mat.hpp>

#include "synth/scene.h"

namespace pb::synth {

// [height, width] CV_8UC3 BGR. Consumes draws from `rng` (background and clutter), so rendering is
// part of a sample's seeded stream.
cv::Mat render_scene(const Scene& scene, Rng& rng);

// The fraction of the 24x24 patches of the LLaVA-1.5 input (padded to a square, 336 px) that some
// object or the sign touches: the informative part of the image.
double informative_patch_fraction(const Scene& scene);

}  // namespace pb::synth
