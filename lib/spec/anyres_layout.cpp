#include "spec/anyres_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace pb {

std::vector<std::pair<int, int>> anyres_pinpoints(const LlavaConfig& cfg) {
  std::vector<std::pair<int, int>> out;
  for (const auto& p : cfg.image_grid_pinpoints) out.emplace_back(static_cast<int>(p[0]), static_cast<int>(p[1]));
  return out;
}

AnyresConvention anyres_convention_from_name(const std::string& name) {
  if (name == "original") return AnyresConvention::kOriginal;
  if (name == "hf") return AnyresConvention::kHf;
  throw Error(fmt::format("unknown anyres convention '{}' (expected original or hf)", name));
}

const char* anyres_convention_name(AnyresConvention convention) {
  return convention == AnyresConvention::kOriginal ? "original" : "hf";
}

AnyresLayout select_anyres_layout(int image_width, int image_height, const std::vector<std::pair<int, int>>& pinpoints,
                                  AnyresConvention convention, int tile) {
  if (image_width <= 0 || image_height <= 0) {
    throw Error(fmt::format("anyres: image size {}x{} is not positive", image_width, image_height));
  }
  if (pinpoints.empty()) throw Error("anyres: image_grid_pinpoints is empty");
  const int64_t original_area = static_cast<int64_t>(image_width) * image_height;
  AnyresLayout best;
  int64_t max_effective = 0;  // the original starts at 0 and +inf
  int64_t min_wasted = std::numeric_limits<int64_t>::max();
  for (const auto& [a, b] : pinpoints) {
    // Original: [a, b] = (width, height); HF reads the same pair as (height, width).
    const int w = convention == AnyresConvention::kOriginal ? a : b;
    const int h = convention == AnyresConvention::kOriginal ? b : a;
    if (w <= 0 || h <= 0 || w % tile != 0 || h % tile != 0) {
      throw Error(fmt::format("anyres: pinpoint [{}, {}] is not a positive multiple of the {}-pixel tile", a, b, tile));
    }
    // Python floats are doubles; int() truncates toward zero.
    const double scale = std::min(static_cast<double>(w) / image_width, static_cast<double>(h) / image_height);
    const auto down_w = static_cast<int64_t>(image_width * scale);
    const auto down_h = static_cast<int64_t>(image_height * scale);
    const int64_t effective = std::min(down_w * down_h, original_area);
    const int64_t wasted = static_cast<int64_t>(w) * h - effective;
    if (effective > max_effective || (effective == max_effective && wasted < min_wasted)) {
      max_effective = effective;
      min_wasted = wasted;
      best = AnyresLayout{w, h, h / tile, w / tile};
    }
  }
  if (best.width == 0) {
    throw Error(fmt::format("anyres: no pinpoint fits a {}x{} image", image_width, image_height));
  }
  return best;
}

std::pair<int64_t, int64_t> anyres_unpadded_grid(int image_width, int image_height, const AnyresLayout& layout,
                                                 int64_t patches_per_tile) {
  const int64_t cur_h = patches_per_tile * layout.grid_rows, cur_w = patches_per_tile * layout.grid_cols;
  const double original_aspect = static_cast<double>(image_width) / image_height;
  const double current_aspect = static_cast<double>(cur_w) / static_cast<double>(cur_h);
  if (original_aspect > current_aspect) {
    const double scale = static_cast<double>(cur_w) / image_width;
    const auto new_h = static_cast<int64_t>(image_height * scale);
    const int64_t pad = (cur_h - new_h) / 2;  // Python // on non-negative values
    return {cur_h - 2 * pad, cur_w};
  }
  const double scale = static_cast<double>(cur_h) / image_height;
  const auto new_w = static_cast<int64_t>(image_width * scale);
  const int64_t pad = (cur_w - new_w) / 2;
  return {cur_h, cur_w - 2 * pad};
}

int64_t anyres_image_tokens(int image_width, int image_height, const AnyresLayout& layout, int64_t patches_per_tile) {
  const auto [rows, cols] = anyres_unpadded_grid(image_width, image_height, layout, patches_per_tile);
  return patches_per_tile * patches_per_tile + rows * (cols + 1);
}

}  // namespace pb
