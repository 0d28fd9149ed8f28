#include "spec/model_spec.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace pb {

int64_t vision_hidden_state_index(int64_t feature_layer, int64_t num_layers) {
  const int64_t index = feature_layer >= 0 ? feature_layer : num_layers + 1 + feature_layer;
  if (index < 0 || index > num_layers) {
    throw Error(fmt::format("vision_feature_layer {} is out of range for a {}-layer vision tower", feature_layer,
                            num_layers));
  }
  return index;
}

int64_t vision_layers_to_run(const LlavaConfig& cfg) {
  if (cfg.model_type == "llava_hr") return cfg.vision.num_hidden_layers;
  int64_t needed = 0;
  for (int64_t l : cfg.vision_feature_layers) {
    needed = std::max(needed, vision_hidden_state_index(l, cfg.vision.num_hidden_layers));
  }
  return needed;
}

int64_t image_tokens_per_image(const LlavaConfig& cfg) {
  const int64_t grid = image_grid_side(cfg);
  if (cfg.model_type == "llava_hr") return grid * grid;  // CLS is dropped before the layers
  return grid * grid + (cfg.vision_feature_select_strategy == "full" ? 1 : 0);
}

int64_t model_image_size(const LlavaConfig& cfg) {
  return cfg.model_type == "llava_hr" ? cfg.hr.input_image_size : cfg.vision.image_size;
}

int64_t image_grid_side(const LlavaConfig& cfg) {
  if (cfg.model_type == "llava_hr") return cfg.hr.fast_image_size() / cfg.vision.patch_size;
  return cfg.vision.image_size / cfg.vision.patch_size;
}

}  // namespace pb
