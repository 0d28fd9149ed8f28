// Small pieces the vision-side methods share: which tower layer holds the feature layer's
// attention, and how a merged row that stands for no single token gets an original index.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "io/model_config.h"

namespace pb {

// The tower layer whose output is the (single) feature layer: hidden_states[i] is layer i-1's
// output, so 22 of CLIP-L's 24 for vision_feature_layer -2. pb::Error naming `method` for several
// feature layers or for the embeddings.
int64_t feature_attention_layer(const LlavaConfig& cfg, const std::string& method);

// `used` [k] int64 distinct indices in [0, n); returns the smallest index in [0, n) not in it
// (the index a merged row that stands for no single token records, docs/pruners.md).
int64_t smallest_unused_index(const at::Tensor& used, int64_t n);

}  // namespace pb
