// G-Prune's graph propagation, exposed so tests can check it on hand-built embeddings
// (the method itself is `gprune` in pruners/gprune.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace pb {

struct GpruneScores {
  at::Tensor importance;  // [N] fp32: propagated feature norm divided by degree (higher is kept)
  at::Tensor degree;      // [N] int64: surviving neighbours of each token, itself included
};

// embeds [N, D] (any float dtype; computed in fp32) -> G-Prune's importance of every token: cosine
// graph with self-loops, edges below `threshold` removed, row softmax of S/temperature, feature L2
// norms pushed `steps` times through it (w^T P^steps), divided by each token's degree.
GpruneScores gprune_scores(const at::Tensor& embeds, double threshold, double temperature, int64_t steps);

}  // namespace pb
