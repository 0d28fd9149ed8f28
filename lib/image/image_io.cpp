#include "image/image_io.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "image/image_header.h"
#include "image/jpeg_cmyk.h"

namespace pb {
namespace {

[[noreturn]] void fail(const std::string& source_name, const std::string& reason) {
  throw Error(fmt::format("cannot read image '{}': {}", source_name, reason));
}

// 16-bit PNG → 8 bits the way Pillow 9.4 opens and converts it: colour and gray+alpha PNGs are
// unpacked keeping the most significant byte ("RGB;16B", "LA;16B" raw modes), while 16-bit
// grayscale opens as mode "I" whose conversion to RGB clips values to 0..255 (Convert.c, i2rgb).
cv::Mat png16_to_8bit(const cv::Mat& m16, bool clip_gray) {
  cv::Mat m8(m16.size(), CV_MAKETYPE(CV_8U, m16.channels()));
  const size_t n = m16.total() * static_cast<size_t>(m16.channels());
  const cv::Mat src = m16.isContinuous() ? m16 : m16.clone();
  const uint16_t* in = src.ptr<uint16_t>();
  uint8_t* out = m8.ptr<uint8_t>();
  for (size_t i = 0; i < n; ++i) {
    out[i] = clip_gray ? static_cast<uint8_t>(std::min<uint16_t>(in[i], 255))
                       : static_cast<uint8_t>(in[i] >> 8);
  }
  return m8;
}

// OpenCV delivers BGR(A) or single-channel gray; drop alpha without compositing, as PIL does.
cv::Mat to_rgb(const cv::Mat& m, const std::string& source_name) {
  cv::Mat rgb;
  switch (m.channels()) {
    case 1: cv::cvtColor(m, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(m, rgb, cv::COLOR_BGRA2RGB); break;
    default: fail(source_name, fmt::format("decoder returned {} channels", m.channels()));
  }
  return rgb;
}

}  // namespace

cv::Mat decode_image_rgb(const std::vector<uint8_t>& bytes, const std::string& source_name,
                         int64_t max_pixels) {
  const detail::ImageHeader header =
      detail::read_image_header(bytes.data(), bytes.size(), source_name);
  if (header.width * header.height > max_pixels) {
    fail(source_name, fmt::format("image is {}x{} = {} pixels, more than the limit of {}",
                                  header.width, header.height, header.width * header.height,
                                  max_pixels));
  }
  const bool is_png = header.format == detail::ImageFormat::kPng;
  if (!is_png && header.jpeg_components == 4) {
    return detail::decode_cmyk_jpeg_rgb(bytes.data(), bytes.size(), static_cast<int>(header.width),
                                        static_cast<int>(header.height), source_name);
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) fail(source_name, "file is larger than 2 GiB");
  // imdecode only reads the buffer; the Mat header just wraps it without copying.
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U,
                       const_cast<uint8_t*>(bytes.data()));
  // PNG: UNCHANGED keeps bit depth and alpha so we can convert exactly as PIL does (and never
  // applies EXIF orientation). JPEG: libjpeg's own gray/YCbCr → RGB conversion, as in PIL.
  const int flags = is_png ? cv::IMREAD_UNCHANGED : cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION;
  cv::Mat decoded;
  try {
    decoded = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    fail(source_name, fmt::format("{} decoder failed: {}", is_png ? "PNG" : "JPEG", e.what()));
  }
  if (decoded.empty()) {
    fail(source_name, fmt::format("corrupt or truncated {} data (the decoder failed)",
                                  is_png ? "PNG" : "JPEG"));
  }
  if (decoded.cols != header.width || decoded.rows != header.height) {
    fail(source_name, fmt::format("decoder returned {}x{} for a {}x{} header", decoded.cols,
                                  decoded.rows, header.width, header.height));
  }
  if (decoded.depth() == CV_16U) {
    const bool gray16 = header.png_color_type == 0;
    decoded = png16_to_8bit(decoded, gray16);
    if (gray16 && decoded.channels() > 1) {
      cv::extractChannel(decoded, decoded, 0);  // gray with tRNS may come back expanded to BGRA
    }
  } else if (decoded.depth() != CV_8U) {
    fail(source_name, "decoder returned an unexpected pixel depth");
  }
  return to_rgb(decoded, source_name);
}

cv::Mat load_image_rgb(const std::string& path, int64_t max_pixels) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(path, "it is a directory, not a file");
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) {
    fail(path, fmt::format("cannot open file ({})", std::generic_category().message(errno)));
  }
  const std::streamoff size = file.tellg();
  if (size < 0) fail(path, "cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), size)) {
    fail(path, fmt::format("read error ({})", std::generic_category().message(errno)));
  }
  return decode_image_rgb(bytes, path, max_pixels);
}

}  // namespace pb
