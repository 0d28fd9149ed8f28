// The image path: magic-byte check, header size check, JPEG/PNG decode and the PIL-compatible
// conversion to RGB (decode_image_rgb). A 16-megapixel cap keeps each input cheap; the cap itself is
// checked from the header before decoding, which is part of what is fuzzed.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "image/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    (void)pb::decode_image_rgb(bytes, "fuzz input", /*max_pixels=*/16'000'000);
  } catch (const pb::Error&) {
  }
  return 0;
}
