// Constants of the original LLaVA code base that several layers share.
#pragma once

#include <cstdint>

namespace pb {

// The id original LLaVA writes into input_ids where the image goes; it is never embedded
// (haotian-liu/LLaVA llava/constants.py IMAGE_TOKEN_INDEX).
constexpr int64_t kOriginalImagePlaceholder = -200;

}  // namespace pb
