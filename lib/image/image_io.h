// Image decoding that matches PIL's `Image.open(path).convert('RGB')`, as LLaVA's evaluation uses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace pb {

// 100 megapixels: above Pillow's decompression-bomb warning (89.5 MP) and far above any VQA image.
inline constexpr int64_t kDefaultMaxImagePixels = 100'000'000;

// Decodes like PIL's Image.open(p).convert('RGB') (Pillow 9.4): EXIF orientation is NOT applied;
// grayscale, palette (with or without transparency), gray+alpha and RGBA become RGB with alpha
// dropped (no compositing); 16-bit PNG keeps the high byte, except 16-bit grayscale which PIL
// clips to 255. Only JPEG and PNG are accepted, recognised by their magic bytes before any decoder
// runs. Any other format, a missing/unreadable/empty/truncated/corrupt file, or an image with more
// than max_pixels pixels (checked from the header, before decoding) throws pb::Error naming the
// path and the reason. Returns CV_8UC3 in RGB order.
cv::Mat load_image_rgb(const std::string& path, int64_t max_pixels = kDefaultMaxImagePixels);

// Same as load_image_rgb for bytes already in memory; source_name is used in error messages.
cv::Mat decode_image_rgb(const std::vector<uint8_t>& bytes, const std::string& source_name,
                         int64_t max_pixels = kDefaultMaxImagePixels);

}  // namespace pb
