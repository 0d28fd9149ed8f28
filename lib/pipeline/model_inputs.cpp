#include "pipeline/model_inputs.h"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "core/error.h"
#include "image/anyres.h"
#include "image/image_io.h"
#include "models/llava.h"
#include "spec/model_spec.h"

namespace pb {

at::Tensor pixel_values_from_chw(const std::vector<float>& chw, int64_t size) {
  PB_CHECK(static_cast<int64_t>(chw.size()) == 3 * size * size, "CHW buffer has the wrong size");
  return at::from_blob(const_cast<float*>(chw.data()), {3, size, size}, at::kFloat).clone();
}

at::Tensor load_pixel_values(const std::string& image_path, ImageMode mode, const LlavaConfig& cfg) {
  const cv::Mat rgb = load_image_rgb(image_path);
  const int64_t size = model_image_size(cfg);
  const cv::Mat resized = preprocess_clip_rgb(rgb, mode, static_cast<int>(size));
  return pixel_values_from_chw(normalize_clip(resized), size);
}

AnyresPixels load_anyres_pixels(const std::string& image_path, const LlavaConfig& cfg, AnyresConvention convention) {
  if (cfg.image_grid_pinpoints.empty()) {
    throw Error(fmt::format("{}: no image_grid_pinpoints: not a LLaVA-NeXT model", cfg.source));
  }
  const cv::Mat rgb = load_image_rgb(image_path);
  const auto size = static_cast<int>(cfg.vision.image_size);
  AnyresPixels out;
  out.width = rgb.cols;
  out.height = rgb.rows;
  out.layout = select_anyres_layout(rgb.cols, rgb.rows, anyres_pinpoints(cfg), convention, size);
  std::vector<at::Tensor> tiles;
  for (const cv::Mat& tile : anyres_tiles(rgb, out.layout, size)) {
    tiles.push_back(pixel_values_from_chw(normalize_clip(tile), size));
  }
  out.tiles = at::stack(tiles);
  return out;
}

std::vector<int64_t> prompt_ids(const SentencePieceTokenizer& tokenizer, PromptTemplate templ,
                                const std::string& question) {
  return tokenize_with_image(tokenizer, build_prompt(templ, question), kOriginalImagePlaceholder);
}

}  // namespace pb
