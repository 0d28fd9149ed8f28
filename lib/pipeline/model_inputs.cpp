#include "pipeline/model_inputs.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "image/image_io.h"
#include "models/llava.h"

namespace pb {

at::Tensor pixel_values_from_chw(const std::vector<float>& chw, int64_t size) {
  PB_CHECK(static_cast<int64_t>(chw.size()) == 3 * size * size, "CHW buffer has the wrong size");
  return at::from_blob(const_cast<float*>(chw.data()), {3, size, size}, at::kFloat).clone();
}

at::Tensor load_pixel_values(const std::string& image_path, ImageMode mode, const VisionConfig& vision) {
  const cv::Mat rgb = load_image_rgb(image_path);
  const cv::Mat resized = preprocess_clip_rgb(rgb, mode, static_cast<int>(vision.image_size));
  return pixel_values_from_chw(normalize_clip(resized), vision.image_size);
}

std::vector<int64_t> prompt_ids(const SentencePieceTokenizer& tokenizer, PromptTemplate templ,
                                const std::string& question) {
  return tokenize_with_image(tokenizer, build_prompt(templ, question), kOriginalImagePlaceholder);
}

}  // namespace pb
