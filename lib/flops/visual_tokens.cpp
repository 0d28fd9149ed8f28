#include "flops/visual_tokens.h"

#include <algorithm>

#include "spec/model_spec.h"

namespace pb {

namespace {

bool is_anyres(const LlavaConfig& cfg) { return cfg.model_type == "llava_next"; }

// Tiles of one pinpoint (both sides are multiples of the crop size in every published config).
int64_t pinpoint_tiles(const LlavaConfig& cfg, const std::array<int64_t, 2>& p) {
  const int64_t crop = cfg.vision.image_size;
  return (p[0] / crop) * (p[1] / crop);
}

}  // namespace

int64_t vision_crops(const LlavaConfig& cfg) {
  if (!is_anyres(cfg)) return 1;
  int64_t tiles = 0;
  for (const auto& p : cfg.image_grid_pinpoints) tiles = std::max(tiles, pinpoint_tiles(cfg, p));
  return 1 + tiles;
}

int64_t nominal_visual_tokens(const LlavaConfig& cfg) { return vision_crops(cfg) * image_tokens_per_image(cfg); }

int64_t max_visual_tokens(const LlavaConfig& cfg) {
  const int64_t base = image_tokens_per_image(cfg);
  if (!is_anyres(cfg)) return base;
  const int64_t side = cfg.vision.image_size / cfg.vision.patch_size;  // tokens per crop edge: 24
  int64_t grid = 0;
  for (const auto& p : cfg.image_grid_pinpoints) {
    // Pinpoints are read as (height, width) by transformers and (width, height) by the original
    // code, so the newline count (one per grid row) takes the longer side: an upper bound either way.
    const int64_t rows = std::max(p[0], p[1]) / cfg.vision.image_size * side;
    grid = std::max(grid, pinpoint_tiles(cfg, p) * side * side + rows);
  }
  return base + grid;
}

}  // namespace pb
