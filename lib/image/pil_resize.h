// Pillow's bicubic resize (Image.resize(size, Image.BICUBIC) on 8-bit RGB), bit for bit.
#pragma once

#include <cstdint>
#include <functional>

#include <opencv2/core/mat.hpp>

namespace pb {

// Same pixels as Pillow's Image.resize((out_w, out_h), BICUBIC) on an RGB image: separable,
// horizontal pass first into a clipped uint8 intermediate, Keys cubic kernel with a = -0.5 whose
// support widens by in/out when downscaling, 22-bit fixed-point weights (Pillow
// src/libImaging/Resample.c). A pass whose size is unchanged is skipped, as Pillow does.
// rgb: CV_8UC3, non-empty. Throws pb::Error for bad inputs or sizes Pillow could not allocate.
cv::Mat pil_resize_bicubic(const cv::Mat& rgb, int out_w, int out_h);

namespace detail {

// A read-only 8-bit RGB image given row by row, so that padded images need not be materialised.
// row(y, scratch) returns the width*3 bytes of row y: either a pointer to storage that outlives
// the call or `scratch` (width*3 bytes) after filling it. Consecutive rows returned at the same
// non-scratch address are treated as identical and resampled once.
struct RgbRowSource {
  int width = 0;
  int height = 0;
  std::function<const uint8_t*(int y, uint8_t* scratch)> row;
};

// The pixels inside `window` of the (out_w x out_h) Pillow bicubic resize of `src`, computed
// without the rest of the output (each output pixel depends only on its own coordinates, so the
// window is bit-identical to cropping the full result). Returns CV_8UC3 of window's size.
cv::Mat pil_resize_bicubic_window(const RgbRowSource& src, int out_w, int out_h,
                                  const cv::Rect& window);

}  // namespace detail
}  // namespace pb
