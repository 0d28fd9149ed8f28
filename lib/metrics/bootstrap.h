// Percentile-bootstrap confidence interval of a mean score (per-sample accuracies of one run).
#pragma once

#include <cstdint>
#include <vector>

namespace pb {

struct ConfidenceInterval {
  double mean, low, high;
};

// `resamples` means of n values drawn with replacement (std::mt19937_64 seeded with `seed`,
// indices by rejection sampling so every platform draws the same ones); low/high are their
// (1 - level) / 2 and (1 + level) / 2 quantiles with linear interpolation (numpy's default).
// mean is the plain mean of `scores`. Deterministic for a given seed. Empty input -> all NaN;
// one value (or all equal) -> low == mean == high. pb::Error for level outside (0, 1),
// resamples < 1 or a non-finite score.
ConfidenceInterval bootstrap_mean_ci(const std::vector<double>& scores,
                                     double level = 0.95,
                                     int resamples = 1000,
                                     uint64_t seed = 0);

}  // namespace pb
