#include "metrics/paired_tests.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "metrics/bootstrap.h"

namespace pb {

double mcnemar_exact_one_sided(int64_t losses, int64_t gains) {
  if (losses < 0 || gains < 0) throw Error(fmt::format("mcnemar: negative counts {} / {}", losses, gains));
  const int64_t n = losses + gains;
  if (n == 0) return 1.0;
  // log C(n, k) - n log 2 through lgamma, summed smallest terms first: exact to ~1e-13 for any n.
  const double log_norm = std::lgamma(static_cast<double>(n) + 1.0) - static_cast<double>(n) * std::log(2.0);
  double p = 0.0;
  for (int64_t k = n; k >= losses; --k) {
    p += std::exp(log_norm - std::lgamma(static_cast<double>(k) + 1.0) -
                  std::lgamma(static_cast<double>(n - k) + 1.0));
  }
  return std::min(1.0, p);
}

PairedBootstrap paired_bootstrap_one_sided(const std::vector<double>& base, const std::vector<double>& candidate,
                                           int resamples, uint64_t seed) {
  if (base.size() != candidate.size()) {
    throw Error(fmt::format("paired bootstrap: {} base scores but {} candidate scores", base.size(), candidate.size()));
  }
  if (resamples < 1) throw Error(fmt::format("paired bootstrap: resamples must be >= 1, got {}", resamples));
  PairedBootstrap out;
  out.resamples = resamples;
  out.seed = seed;
  const uint64_t n = base.size();
  if (n == 0) return out;
  std::vector<double> d(n);
  double sum = 0.0;
  bool all_zero = true;
  for (uint64_t i = 0; i < n; ++i) {
    d[i] = candidate[i] - base[i];
    sum += d[i];
    all_zero = all_zero && d[i] == 0.0;
  }
  out.mean_difference = sum / static_cast<double>(n);
  out.ci_low = out.ci_high = out.mean_difference;
  if (all_zero) return out;
  constexpr double kZeroSum = 1e-9;  // float rounding of a sum that is exactly 0
  std::mt19937_64 rng(seed);
  std::vector<double> means(static_cast<size_t>(resamples));
  int64_t not_worse = 0;
  for (double& m : means) {
    double s = 0.0;
    for (uint64_t i = 0; i < n; ++i) s += d[uniform_index(rng, n)];
    if (s >= -kZeroSum) ++not_worse;
    m = s / static_cast<double>(n);
  }
  out.p_value = static_cast<double>(not_worse) / static_cast<double>(resamples);
  std::sort(means.begin(), means.end());
  out.ci_low = linear_quantile(means, 0.025);
  out.ci_high = linear_quantile(means, 0.975);
  return out;
}

}  // namespace pb
