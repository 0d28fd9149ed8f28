// Small builders shared by the pruner unit tests.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "io/model_config.h"

namespace pb::test {

// A config with only the vision-tower facts the vision-side pruners read.
inline LlavaConfig clip_config(int64_t image_size, int64_t layers) {
  LlavaConfig cfg;
  cfg.vision.image_size = image_size;
  cfg.vision.patch_size = 14;
  cfg.vision.num_hidden_layers = layers;
  return cfg;
}

inline at::Tensor longs(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); }

}  // namespace pb::test
