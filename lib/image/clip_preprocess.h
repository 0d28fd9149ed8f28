// LLaVA-1.5 image preprocessing: pad-to-square or shortest-edge + centre crop, then CLIP normalisation.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "image/clip_constants.h"

namespace pb {

// kPad: original LLaVA-1.5 evaluation (image_aspect_ratio "pad", what the paper numbers use).
// kCrop: llava-hf's CLIPImageProcessor as published (shortest edge, centre crop).
enum class ImageMode { kPad, kCrop };

// "pad" | "crop"; anything else throws pb::Error listing the valid names.
ImageMode image_mode_from_name(const std::string& name);
const char* image_mode_name(ImageMode mode);

// rgb: CV_8UC3 (RGB order, any size). Returns CV_8UC3 size x size.
// kPad: LLaVA's expand2square with kClipPadRgb, the image pasted at ((S-w)//2, (S-h)//2) on an
//   S = max(w, h) square, then a Pillow bicubic resize to size x size (the crop is a no-op).
// kCrop: Pillow bicubic resize so the short side is `size` and the long side is
//   int(size * long / short) (skipped if already that size), then centre crop at
//   top = (h - size) // 2, left = (w - size) // 2.
// Only the pixels that survive the crop are computed, so extreme aspect ratios (e.g. 1x4000) cost
// no more memory than the output. Throws pb::Error for an empty/non-RGB image, size <= 0, a pad
// square wider than kMaxPadSide, or a resize target Pillow itself could not allocate.
cv::Mat preprocess_clip_rgb(const cv::Mat& rgb, ImageMode mode, int size = 336);

// Longest side of the pad-mode square we accept: Pillow would allocate S*S*4 bytes (4 GiB here),
// and our row-wise padding still costs O(S * h) work for tall images.
inline constexpr int kMaxPadSide = 32768;

// (x / 255 - mean) / std per channel with the CLIP statistics, HWC uint8 RGB → CHW float32
// ([3, H, W], channel-major), computed in the same float32 steps as transformers' rescale +
// normalize. rgb: CV_8UC3, any size.
std::vector<float> normalize_clip(const cv::Mat& rgb);

}  // namespace pb
