// Facts about a LLaVA model that follow from its config alone (no LibTorch): how much of the
// vision tower runs, how many visual tokens an image becomes.
#pragma once

#include <cstdint>
#include <vector>

#include "io/model_config.h"

namespace pb {

// Index into the tower's hidden_states (num_layers + 1 entries: embeddings, then each layer) of a
// vision_feature_layer value; negative values count from the end as Python indexing does.
int64_t vision_hidden_state_index(int64_t feature_layer, int64_t num_layers);

// Encoder layers to run so that every selected hidden state exists: LLaVA-1.5 reads layer -2 of
// CLIP-L's 24, so 23 run and the last is never computed (llama.cpp does the same).
int64_t vision_layers_to_run(const LlavaConfig& cfg);

// Visual tokens per image for LLaVA-1.5: (S/p)^2 patches, plus CLS under strategy "full".
int64_t image_tokens_per_image(const LlavaConfig& cfg);

}  // namespace pb
