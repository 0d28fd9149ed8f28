#include "image/clip_preprocess.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "image/pil_resize.h"

namespace pb {
namespace {

void check_rgb(const cv::Mat& rgb, const char* what) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error(fmt::format("{}: expected a non-empty CV_8UC3 RGB image, got {}x{} type {}", what,
                            rgb.cols, rgb.rows, rgb.type()));
  }
}

detail::RgbRowSource plain_rows(const cv::Mat& rgb) {
  detail::RgbRowSource src;
  src.width = rgb.cols;
  src.height = rgb.rows;
  src.row = [&rgb](int y, uint8_t*) { return rgb.ptr<uint8_t>(y); };
  return src;
}

// expand2square (llava/mm_utils.py) as a row source: the image pasted on an S x S square of the
// pad colour at ((S - w) // 2, (S - h) // 2). Rows entirely of padding share one buffer.
detail::RgbRowSource padded_rows(const cv::Mat& rgb, const std::vector<uint8_t>& pad_row) {
  const int side = std::max(rgb.cols, rgb.rows);
  const int left = (side - rgb.cols) / 2;
  const int top = (side - rgb.rows) / 2;
  detail::RgbRowSource src;
  src.width = side;
  src.height = side;
  src.row = [&rgb, &pad_row, left, top](int y, uint8_t* scratch) -> const uint8_t* {
    if (y < top || y >= top + rgb.rows) return pad_row.data();
    const uint8_t* image_row = rgb.ptr<uint8_t>(y - top);
    if (left == 0 && rgb.cols * 3 == static_cast<int>(pad_row.size())) return image_row;
    const size_t row_bytes = static_cast<size_t>(rgb.cols) * 3;
    std::memcpy(scratch, pad_row.data(), pad_row.size());
    std::memcpy(scratch + static_cast<size_t>(left) * 3, image_row, row_bytes);
    return scratch;
  };
  return src;
}

cv::Mat preprocess_pad(const cv::Mat& rgb, int size) {
  const int side = std::max(rgb.cols, rgb.rows);
  if (side > kMaxPadSide) {
    throw Error(fmt::format("preprocess (pad): a {}x{} image pads to a {}x{} square, larger than "
                            "the limit of {} per side", rgb.cols, rgb.rows, side, side, kMaxPadSide));
  }
  std::vector<uint8_t> pad_row(static_cast<size_t>(side) * 3);
  for (size_t i = 0; i < pad_row.size(); ++i) pad_row[i] = kClipPadRgb[i % 3];
  // The square goes through CLIPImageProcessor: shortest edge → size is a plain square resize,
  // and the centre crop is then a no-op.
  return detail::pil_resize_bicubic_window(padded_rows(rgb, pad_row), size, size,
                                           cv::Rect(0, 0, size, size));
}

cv::Mat preprocess_crop(const cv::Mat& rgb, int size) {
  // transformers get_resize_output_image_size(default_to_square=False): the short side becomes
  // `size`, the long side int(size * long / short): Python's int/int true division is correctly
  // rounded like this double division (exact operands below 2^53), and int() truncates.
  const bool landscape = rgb.cols > rgb.rows;
  const int64_t short_side = landscape ? rgb.rows : rgb.cols;
  const int64_t long_side = landscape ? rgb.cols : rgb.rows;
  const double long_exact = static_cast<double>(int64_t{size} * long_side) / static_cast<double>(short_side);
  if (long_exact > static_cast<double>(INT32_MAX)) {
    throw Error(fmt::format("preprocess (crop): a {}x{} image would be resized to a long side of "
                            "{:.0f} pixels; aspect ratio too extreme", rgb.cols, rgb.rows, long_exact));
  }
  const int new_long = static_cast<int>(long_exact);
  const int out_w = landscape ? new_long : size;
  const int out_h = landscape ? size : new_long;
  // Centre crop (transformers image_transforms.center_crop): floor division of the excess.
  const cv::Rect window((out_w - size) / 2, (out_h - size) / 2, size, size);
  return detail::pil_resize_bicubic_window(plain_rows(rgb), out_w, out_h, window);
}

}  // namespace

ImageMode image_mode_from_name(const std::string& name) {
  if (name == "pad") return ImageMode::kPad;
  if (name == "crop") return ImageMode::kCrop;
  throw Error(fmt::format("unknown image mode '{}'; valid modes: pad, crop", name));
}

const char* image_mode_name(ImageMode mode) {
  return mode == ImageMode::kPad ? "pad" : "crop";
}

cv::Mat preprocess_clip_rgb(const cv::Mat& rgb, ImageMode mode, int size) {
  check_rgb(rgb, "preprocess_clip_rgb");
  if (size <= 0) throw Error(fmt::format("preprocess_clip_rgb: size must be positive, got {}", size));
  return mode == ImageMode::kPad ? preprocess_pad(rgb, size) : preprocess_crop(rgb, size);
}

std::vector<float> normalize_clip(const cv::Mat& rgb) {
  check_rgb(rgb, "normalize_clip");
  // transformers rescale(): float64 multiply by 1/255, stored as float32; normalize(): float32
  // (x - mean) / std with mean and std cast to float32. One table per channel covers all 256 inputs.
  constexpr double kRescale = 1.0 / 255.0;  // rescale_factor 0.00392156862745098
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      const float scaled = static_cast<float>(v * kRescale);
      table[c][v] = (scaled - kClipMean[c]) / kClipStd[c];
    }
  }
  const size_t plane = rgb.total();
  std::vector<float> out(3 * plane);  // [3, H, W]
  size_t i = 0;
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x, ++i, p += 3) {
      out[i] = table[0][p[0]];
      out[plane + i] = table[1][p[1]];
      out[2 * plane + i] = table[2][p[2]];
    }
  }
  return out;
}

}  // namespace pb
