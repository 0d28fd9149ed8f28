// LLaVA-NeXT "anyres" arithmetic, as the original haotian-liu/LLaVA does it: which pinpoint an image
// gets (llava/mm_utils.py select_best_resolution) and how many visual tokens its spatial_unpad packing
// leaves (llava/model/llava_arch.py unpad_image). Torch- and OpenCV-free: the tiles are in
// image/anyres.h, the packing in models/llava_next.cpp. docs/models.md lists where the HF code differs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/model_config.h"

namespace pb {

// The pinpoints of a llava_next config as (a, b) pairs, as written (empty for other models).
std::vector<std::pair<int, int>> anyres_pinpoints(const LlavaConfig& cfg);

// How `image_grid_pinpoints` entries are read. kOriginal (the default): (width, height), as
// llava/mm_utils.py does, so on exact ties the first listed layout wins. kHf: (height, width), as
// transformers' LlavaNextImageProcessor reads them; it picks the transposed layout on those ties
// (e.g. a 300x300 image: original 336 wide x 672 tall, HF 672 wide x 336 tall).
enum class AnyresConvention { kOriginal, kHf };

AnyresConvention anyres_convention_from_name(const std::string& name);  // "original" | "hf"; else pb::Error
const char* anyres_convention_name(AnyresConvention convention);

struct AnyresLayout {
  int width = 0, height = 0;       // the chosen resolution (a pinpoint), pixels
  int grid_rows = 0, grid_cols = 0;  // height / tile, width / tile
  int tiles() const { return 1 + grid_rows * grid_cols; }  // base image + grid
};

// select_best_resolution: for each pinpoint, scale = min(w / W, h / H) in double, the downscaled
// size truncated to int, effective = min(dw * dh, W * H), wasted = w * h - effective; the largest
// effective wins, then the smallest wasted, then the first listed. `pinpoints` as written in the
// config ([a, b] pairs); pb::Error for an empty list, non-positive sizes, or sizes not a multiple
// of `tile`.
AnyresLayout select_anyres_layout(int image_width, int image_height, const std::vector<std::pair<int, int>>& pinpoints,
                                  AnyresConvention convention, int tile = 336);

// Rows and columns of the grid feature map left by unpad_image (original llava_arch.py: plain
// int() truncation in double), before image_newline adds a column. `patches_per_tile` = 24 for
// CLIP 336/14.
std::pair<int64_t, int64_t> anyres_unpadded_grid(int image_width, int image_height, const AnyresLayout& layout,
                                                 int64_t patches_per_tile);

// Visual tokens of one image: base (patches_per_tile^2) + rows * (cols + 1).
int64_t anyres_image_tokens(int image_width, int image_height, const AnyresLayout& layout, int64_t patches_per_tile);

}  // namespace pb
