// CLIP image statistics used by every LLaVA-1.5 preprocessing path, and the pad colour derived from them.
#pragma once

#include <array>
#include <cstdint>

namespace pb {

// Per-channel RGB mean and standard deviation of the CLIP training images: openai/CLIP
// `clip/clip.py` (_transform, Normalize), copied verbatim into the `image_mean` / `image_std` of
// openai/clip-vit-large-patch14-336's preprocessor_config.json that LLaVA's CLIPImageProcessor loads.
inline constexpr std::array<float, 3> kClipMean = {0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr std::array<float, 3> kClipStd = {0.26862954f, 0.26130258f, 0.27577711f};

// LLaVA's expand2square colour: `tuple(int(x * 255) for x in image_processor.image_mean)`
// (haotian-liu/LLaVA llava/mm_utils.py, process_images). int() truncates, giving (122, 116, 104).
// The mean is a Python float (double), so the product is taken in double here too.
inline constexpr std::array<uint8_t, 3> kClipPadRgb = {
    static_cast<uint8_t>(static_cast<int>(0.48145466 * 255)),
    static_cast<uint8_t>(static_cast<int>(0.4578275 * 255)),
    static_cast<uint8_t>(static_cast<int>(0.40821073 * 255)),
};
static_assert(kClipPadRgb[0] == 122 && kClipPadRgb[1] == 116 && kClipPadRgb[2] == 104,
              "LLaVA-1.5 pads with (122, 116, 104)");

}  // namespace pb
