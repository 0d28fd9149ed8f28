// How many visual tokens, and how many vision-tower passes, one image costs a LLaVA model: the
// defaults and upper bounds that FLOPs schedules are checked against.
#pragma once

#include <cstdint>

#include "io/model_config.h"

namespace pb {

// Vision-tower passes (336x336 crops) per image: 1 for LLaVA-1.5; for LLaVA-NeXT the base image
// plus the tiles of the largest image_grid_pinpoints entry (5 with the published pinpoints).
int64_t vision_crops(const LlavaConfig& cfg);

// The unpruned visual-token count FLOPs figures are quoted for: crops x tokens per crop. 576 for
// LLaVA-1.5; for LLaVA-NeXT the papers' nominal 2880 (5 x 576; PDrop Table 5, FitPrune's
// LLaVA_NEXT recipes), although the real anyres count depends on the image's aspect ratio.
int64_t nominal_visual_tokens(const LlavaConfig& cfg);

// The most visual tokens an image can give: image_tokens_per_image() for LLaVA-1.5; for LLaVA-NeXT
// the base crop plus the largest pinpoint's grid with nothing unpadded and one image_newline per
// grid row (transformers LlavaNextForConditionalGeneration.pack_image_features): 576 + 48*48 + 48 =
// 2928 with the published pinpoints.
int64_t max_visual_tokens(const LlavaConfig& cfg);

}  // namespace pb
