#include "pruners/vision_stage.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <vector>

#include "core/error.h"
#include "spec/model_spec.h"

namespace pb {

int64_t feature_attention_layer(const LlavaConfig& cfg, const std::string& method) {
  if (cfg.vision_feature_layers.size() != 1) {
    throw Error(fmt::format("{}: needs a single vision_feature_layer (the config lists {})", method,
                            cfg.vision_feature_layers.size()));
  }
  const int64_t index = vision_hidden_state_index(cfg.vision_feature_layers[0], cfg.vision.num_hidden_layers);
  if (index == 0) {
    throw Error(fmt::format("{}: vision_feature_layer selects the patch embeddings, which have no attention map",
                            method));
  }
  return index - 1;
}

int64_t smallest_unused_index(const at::Tensor& used, int64_t n) {
  std::vector<bool> taken(static_cast<size_t>(n), false);
  const at::Tensor u = used.to(at::kCPU).to(at::kLong).contiguous();
  const int64_t* p = u.data_ptr<int64_t>();
  for (int64_t i = 0; i < u.numel(); ++i) {
    PB_CHECK(p[i] >= 0 && p[i] < n, "smallest_unused_index: index out of range");
    taken[static_cast<size_t>(p[i])] = true;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!taken[static_cast<size_t>(i)]) return i;
  }
  throw Error(fmt::format("smallest_unused_index: all {} indices are used", n));
}

}  // namespace pb
