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
// CLIP-L's 24, so 23 run and the last is never computed (llama.cpp does the same). LLaVA-HR runs
// every layer whatever mm_vision_select_layer says.
int64_t vision_layers_to_run(const LlavaConfig& cfg);

// Visual tokens per image for LLaVA-1.5: (S/p)^2 patches, plus CLS under strategy "full";
// LLaVA-HR: its CLIP branch's grid, (fast_image_size / p)^2 = 1024 at input_image_size 1024.
int64_t image_tokens_per_image(const LlavaConfig& cfg);

// Side of the square the model's processor makes: input_image_size for LLaVA-HR (1024), the CLIP
// tower's image_size otherwise (336).
int64_t model_image_size(const LlavaConfig& cfg);

// Side of the visual tokens' patch grid: 24 for CLIP-L/336, 32 for LLaVA-HR at 1024.
int64_t image_grid_side(const LlavaConfig& cfg);

}  // namespace pb
