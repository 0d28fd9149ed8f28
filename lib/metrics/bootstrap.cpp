#include "metrics/bootstrap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"

namespace pb {

namespace {

double mean_of(const std::vector<double>& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

}  // namespace

double linear_quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

uint64_t uniform_index(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % n;
}

ConfidenceInterval bootstrap_mean_ci(const std::vector<double>& scores,
                                     double level,
                                     int resamples,
                                     uint64_t seed) {
  if (!(level > 0.0 && level < 1.0)) {
    throw Error(fmt::format("bootstrap_mean_ci: confidence level {} is not in (0, 1)", level));
  }
  if (resamples < 1) {
    throw Error(fmt::format("bootstrap_mean_ci: resamples must be >= 1, got {}", resamples));
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw Error(
          fmt::format("bootstrap_mean_ci: score #{} of {} is {}", i, scores.size(), scores[i]));
    }
  }
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (scores.empty()) return {kNaN, kNaN, kNaN};
  const double mean = mean_of(scores);
  if (scores.size() == 1) return {mean, mean, mean};

  std::mt19937_64 rng(seed);
  const uint64_t n = scores.size();
  std::vector<double> means(static_cast<size_t>(resamples));
  for (double& m : means) {
    double sum = 0.0;
    for (uint64_t i = 0; i < n; ++i) sum += scores[uniform_index(rng, n)];
    m = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - level) / 2.0;
  return {mean, linear_quantile(means, tail), linear_quantile(means, 1.0 - tail)};
}

}  // namespace pb
