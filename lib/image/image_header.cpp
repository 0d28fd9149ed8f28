#include "image/image_header.h"

#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace pb::detail {
namespace {

// PNG signature (PNG spec, section 5.2).
constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t read_be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | uint32_t{p[1]}; }

[[noreturn]] void fail(const std::string& source_name, const std::string& reason) {
  throw Error(fmt::format("cannot read image '{}': {}", source_name, reason));
}

bool valid_png_depth(int color_type, int depth) {
  switch (color_type) {  // PNG spec, table 11.1
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return false;
  }
}

ImageHeader read_png_header(const uint8_t* data, size_t size, const std::string& source_name) {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + 13 data bytes; IHDR must come first.
  if (size < 8 + 8 + 13) fail(source_name, "PNG file is truncated inside its header");
  if (read_be32(data + 8) != 13 || std::memcmp(data + 12, "IHDR", 4) != 0) {
    fail(source_name, "PNG file does not start with an IHDR chunk (corrupt file)");
  }
  const uint8_t* ihdr = data + 16;
  ImageHeader h;
  h.format = ImageFormat::kPng;
  h.width = read_be32(ihdr);
  h.height = read_be32(ihdr + 4);
  h.png_bit_depth = ihdr[8];
  h.png_color_type = ihdr[9];
  // The spec limits both dimensions to 2^31-1 and forbids 0.
  if (h.width == 0 || h.height == 0 || h.width > 0x7FFFFFFF || h.height > 0x7FFFFFFF) {
    fail(source_name, fmt::format("PNG header has invalid dimensions {}x{}", h.width, h.height));
  }
  if (!valid_png_depth(h.png_color_type, h.png_bit_depth)) {
    fail(source_name, fmt::format("PNG header has invalid colour type {} / bit depth {}",
                                  h.png_color_type, h.png_bit_depth));
  }
  return h;
}

bool is_sof_marker(uint8_t m) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) (ITU T.81, table B.1).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

bool is_standalone_marker(uint8_t m) {
  return m == 0x01 || (m >= 0xD0 && m <= 0xD7);  // TEM and RST0..7 carry no length field
}

ImageHeader read_jpeg_header(const uint8_t* data, size_t size, const std::string& source_name) {
  ImageHeader h;
  h.format = ImageFormat::kJpeg;
  bool have_frame = false;
  bool in_scan = false;
  size_t pos = 2;  // after SOI
  for (;;) {
    if (in_scan) {
      // Entropy-coded data: 0xFF is followed by a stuffed 0x00, an RSTn, fill 0xFFs, or a
      // real marker, which ends the scan.
      const void* ff = pos < size ? std::memchr(data + pos, 0xFF, size - pos) : nullptr;
      if (!ff) break;
      pos = static_cast<size_t>(static_cast<const uint8_t*>(ff) - data);
      size_t next = pos + 1;
      while (next < size && data[next] == 0xFF) ++next;
      if (next >= size) break;
      if (data[next] == 0x00 || (data[next] >= 0xD0 && data[next] <= 0xD7)) {
        pos = next + 1;
        continue;
      }
      in_scan = false;
      continue;  // pos is at the marker's 0xFF
    }
    // Between segments libjpeg skips stray bytes before a marker (with a warning), so do we.
    while (pos < size && data[pos] != 0xFF) ++pos;
    while (pos < size && data[pos] == 0xFF) ++pos;
    if (pos >= size) break;
    const uint8_t marker = data[pos++];
    if (marker == 0xD9) {  // EOI
      if (!have_frame) fail(source_name, "JPEG file has no frame header (SOF)");
      return h;
    }
    if (marker == 0x00 || is_standalone_marker(marker)) continue;
    if (pos + 2 > size) break;
    const size_t length = read_be16(data + pos);
    if (length < 2) fail(source_name, fmt::format("JPEG segment with invalid length at byte {}", pos));
    if (pos + length > size) break;
    const uint8_t* seg = data + pos + 2;
    if (is_sof_marker(marker) && !have_frame) {
      if (length < 8) fail(source_name, "JPEG frame header is too short");
      const int precision = seg[0];
      h.height = read_be16(seg + 1);
      h.width = read_be16(seg + 3);
      h.jpeg_components = seg[5];
      have_frame = true;
      if (precision != 8) {
        fail(source_name, fmt::format("{}-bit JPEG is not supported (8-bit only)", precision));
      }
      if (h.width == 0 || h.height == 0) {
        // Height 0 means "defined later by a DNL marker", which libjpeg does not support.
        fail(source_name, fmt::format("JPEG header has invalid dimensions {}x{}", h.width, h.height));
      }
      if (h.jpeg_components != 1 && h.jpeg_components != 3 && h.jpeg_components != 4) {
        fail(source_name, fmt::format("JPEG with {} components is not supported", h.jpeg_components));
      }
    } else if (marker == 0xDA) {  // SOS
      if (!have_frame) fail(source_name, "JPEG scan starts before the frame header (corrupt file)");
      in_scan = true;
    }
    pos += length;
  }
  fail(source_name, "JPEG file is truncated (it ends before the EOI marker)");
}

// Names a few formats that show up in VQA datasets by mistake, for a more useful message.
std::string describe_unknown(const uint8_t* data, size_t size) {
  auto starts = [&](const char* magic, size_t n) { return size >= n && std::memcmp(data, magic, n) == 0; };
  if (starts("GIF8", 4)) return " (it looks like GIF)";
  if (starts("BM", 2)) return " (it looks like BMP)";
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return " (it looks like TIFF)";
  if (starts("RIFF", 4) && size >= 12 && std::memcmp(data + 8, "WEBP", 4) == 0) return " (it looks like WebP)";
  return "";
}

}  // namespace

ImageFormat sniff_image_format(const uint8_t* data, size_t size) {
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat::kJpeg;
  if (size >= 8 && std::memcmp(data, kPngMagic, 8) == 0) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

ImageHeader read_image_header(const uint8_t* data, size_t size, const std::string& source_name) {
  if (size == 0) fail(source_name, "the file is empty (0 bytes)");
  switch (sniff_image_format(data, size)) {
    case ImageFormat::kJpeg: return read_jpeg_header(data, size, source_name);
    case ImageFormat::kPng: return read_png_header(data, size, source_name);
    case ImageFormat::kUnknown: break;
  }
  fail(source_name, "not a JPEG or PNG file" + describe_unknown(data, size) +
                        "; only JPEG and PNG are accepted");
}

}  // namespace pb::detail
