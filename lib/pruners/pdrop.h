// PyramidDrop's token counts, exposed for tests (pruners/pdrop.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "flops/schedule.h"

namespace pb {

// Image tokens kept by each stage: int(n * lambda^s) for s = 1..stages.
std::vector<int64_t> pdrop_stage_counts(int64_t n, double lambda, size_t stages);
// Visual tokens entering each of `layers` decoder layers with stage boundaries `boundaries`.
std::vector<LayerTokens> pdrop_schedule(int64_t layers, int64_t n, const std::vector<int64_t>& boundaries,
                                        double lambda);

}  // namespace pb
