// Turning a question and an image file into what LlavaModel consumes, as LLaVA-1.5 evaluation does.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "image/clip_preprocess.h"
#include "spec/anyres_layout.h"
#include "io/model_config.h"
#include "tokenizer/prompt.h"
#include "tokenizer/sentencepiece.h"

namespace pb {

// Decoded (PIL-compatible), resized as `mode` says to the model's image size (model_image_size:
// the CLIP tower's 336, or LLaVA-HR's input_image_size 1024), normalised: [3, S, S] float32.
at::Tensor load_pixel_values(const std::string& image_path, ImageMode mode, const LlavaConfig& cfg);
at::Tensor pixel_values_from_chw(const std::vector<float>& chw, int64_t size);  // -> [3, S, S]

// LLaVA-NeXT: the anyres tiles of an image, as the original LLaVA makes them (image/anyres.h).
struct AnyresPixels {
  at::Tensor tiles;  // [1 + rows * cols, 3, S, S] float32, normalised; the squashed base image first
  int width = 0, height = 0;  // of the original image
  AnyresLayout layout;
};
AnyresPixels load_anyres_pixels(const std::string& image_path, const LlavaConfig& cfg,
                                AnyresConvention convention = AnyresConvention::kOriginal);

// Prompt ids with -200 where the image goes (original LLaVA's tokenizer_image_token).
std::vector<int64_t> prompt_ids(const SentencePieceTokenizer& tokenizer, PromptTemplate templ,
                                const std::string& question);

}  // namespace pb
