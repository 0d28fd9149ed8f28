// LLaVA-NeXT "anyres" tiles, as the original haotian-liu/LLaVA makes them (llava/mm_utils.py:
// resize_and_pad_image, divide_to_patches, process_anyres_image). The layout arithmetic is in
// spec/anyres_layout.h.
#pragma once

#include <vector>

#include <opencv2/core/mat.hpp>

#include "spec/anyres_layout.h"

namespace pb {

// The 1 + rows * cols tiles LLaVA-NeXT feeds the vision tower, each CV_8UC3 tile x tile RGB:
// tile 0 = the whole image squashed to tile x tile (PIL default bicubic, aspect ratio not kept);
// then the image resized to fit the layout keeping its aspect ratio (new side = min(ceil(side *
// scale), target), PIL bicubic), pasted centred on black at ((w - new_w) // 2, (h - new_h) // 2)
// and cut into tiles in raster order (rows top to bottom, left to right).
std::vector<cv::Mat> anyres_tiles(const cv::Mat& rgb, const AnyresLayout& layout, int tile = 336);

}  // namespace pb
