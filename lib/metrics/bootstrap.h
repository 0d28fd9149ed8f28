// Percentile-bootstrap confidence interval of a mean score (per-sample accuracies of one run).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace pb {

struct ConfidenceInterval {
  double mean, low, high;
};

// A uniform index in [0, n) (n >= 1) from mt19937_64's full 64-bit output, rejecting the biased
// tail: x = rng() until x < 2^64 - (2^64 mod n), then x mod n. It depends only on mt19937_64 (whose
// output the C++ standard fixes), not on std::uniform_int_distribution (implementation-defined), so
// every platform draws the same indices.
uint64_t uniform_index(std::mt19937_64& rng, uint64_t n);

// numpy.quantile(sorted, q) with the default "linear" method (position q * (n - 1)); `sorted` is
// ascending and not empty.
double linear_quantile(const std::vector<double>& sorted, double q);

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
