// Container sniffing for the image loader: format from magic bytes, dimensions from the header,
// and a JPEG marker walk that finds truncated files without running a decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pb::detail {

enum class ImageFormat { kUnknown, kJpeg, kPng };

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int64_t width = 0;
  int64_t height = 0;
  int png_bit_depth = 0;     // PNG only: 1, 2, 4, 8 or 16
  int png_color_type = -1;   // PNG only: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  int jpeg_components = 0;   // JPEG only: 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK
};

// Format from the leading magic bytes only (JPEG FF D8 FF, PNG's 8-byte signature).
ImageFormat sniff_image_format(const uint8_t* data, size_t size);

// Parses the PNG IHDR or walks the JPEG markers up to EOI. Throws pb::Error naming source_name
// for any other format, a malformed header, or a JPEG that ends before its EOI marker
// (PIL refuses those as "image file is truncated"; libjpeg would silently fill them with grey).
ImageHeader read_image_header(const uint8_t* data, size_t size, const std::string& source_name);

}  // namespace pb::detail
