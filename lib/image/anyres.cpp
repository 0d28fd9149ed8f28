#include "image/anyres.h"

#include <cmath>

#include "core/error.h"
#include "image/pil_resize.h"

namespace pb {

std::vector<cv::Mat> anyres_tiles(const cv::Mat& rgb, const AnyresLayout& layout, int tile) {
  PB_CHECK(rgb.type() == CV_8UC3 && !rgb.empty(), "anyres_tiles: expected a non-empty 8-bit RGB image");
  std::vector<cv::Mat> tiles;
  tiles.reserve(static_cast<size_t>(layout.tiles()));
  tiles.push_back(pil_resize_bicubic(rgb, tile, tile));  // process_anyres_image: image.resize((336, 336))

  // resize_and_pad_image: fit inside the layout keeping the aspect ratio, then centre on black.
  const int src_w = rgb.cols, src_h = rgb.rows;
  const double scale_w = static_cast<double>(layout.width) / src_w;
  const double scale_h = static_cast<double>(layout.height) / src_h;
  int new_w = layout.width, new_h = layout.height;
  if (scale_w < scale_h) {
    new_h = std::min(static_cast<int>(std::ceil(src_h * scale_w)), layout.height);
  } else {
    new_w = std::min(static_cast<int>(std::ceil(src_w * scale_h)), layout.width);
  }
  const cv::Mat resized = pil_resize_bicubic(rgb, new_w, new_h);
  cv::Mat canvas(layout.height, layout.width, CV_8UC3, cv::Scalar(0, 0, 0));
  resized.copyTo(canvas(cv::Rect((layout.width - new_w) / 2, (layout.height - new_h) / 2, new_w, new_h)));

  for (int r = 0; r < layout.grid_rows; ++r) {  // divide_to_patches: raster order
    for (int c = 0; c < layout.grid_cols; ++c) tiles.push_back(canvas(cv::Rect(c * tile, r * tile, tile, tile)).clone());
  }
  return tiles;
}

}  // namespace pb
