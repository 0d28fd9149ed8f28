// CMYK/YCCK JPEG decoding with libjpeg directly: OpenCV converts CMYK to BGR with its own rounding,
// which differs from PIL on most pixels (by up to 2 levels), so these files bypass it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

namespace pb::detail {

// A 4-component JPEG → CV_8UC3 RGB exactly as Pillow 9.4 does it: the samples are read as Adobe
// inverted CMYK (JpegImagePlugin's "CMYK;I" raw mode; libjpeg turns YCCK into CMYK first), then
// Convert.c's cmyk2rgb. width/height are the frame header's. Throws pb::Error naming source_name
// when libjpeg reports an error or the output does not have that size.
cv::Mat decode_cmyk_jpeg_rgb(const uint8_t* data, size_t size, int width, int height,
                             const std::string& source_name);

}  // namespace pb::detail
