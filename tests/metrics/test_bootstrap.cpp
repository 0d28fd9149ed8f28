// bootstrap_mean_ci: determinism, coverage of the mean, shrinking width, degenerate inputs.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "core/error.h"
#include "metrics/bootstrap.h"

namespace {

std::vector<double> coin_scores(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = static_cast<double>(rng() % 2);
  return v;
}

}  // namespace

TEST_CASE("metrics: bootstrap is deterministic for a seed and varies with it",
          "[metrics][bootstrap]") {
  const std::vector<double> s = coin_scores(200, 1);
  const pb::ConfidenceInterval a = pb::bootstrap_mean_ci(s, 0.95, 1000, 7);
  const pb::ConfidenceInterval b = pb::bootstrap_mean_ci(s, 0.95, 1000, 7);
  CHECK(a.mean == b.mean);
  CHECK(a.low == b.low);
  CHECK(a.high == b.high);
  // With 200 coin flips the 2.5% quantile of 1000 resample means moves with the seed.
  bool differs = false;
  for (uint64_t seed = 8; seed < 16 && !differs; ++seed) {
    const pb::ConfidenceInterval c = pb::bootstrap_mean_ci(s, 0.95, 1000, seed);
    differs = c.low != a.low || c.high != a.high;
  }
  CHECK(differs);
}

TEST_CASE("metrics: bootstrap interval contains the mean and is about 2 x 1.96 SE wide",
          "[metrics][bootstrap]") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const std::vector<double> s = coin_scores(400, seed);
    double mean = 0;
    for (double x : s) mean += x;
    mean /= static_cast<double>(s.size());
    const pb::ConfidenceInterval ci = pb::bootstrap_mean_ci(s, 0.95, 2000, seed);
    CHECK(ci.mean == mean);
    CHECK(ci.low < ci.mean);
    CHECK(ci.mean < ci.high);
    const double se = std::sqrt(mean * (1 - mean) / static_cast<double>(s.size()));
    CHECK((ci.high - ci.low) == Approx(2 * 1.96 * se).epsilon(0.15));
    // A lower level gives a narrower interval inside the wider one (same draws).
    const pb::ConfidenceInterval narrow = pb::bootstrap_mean_ci(s, 0.5, 2000, seed);
    CHECK(narrow.low >= ci.low);
    CHECK(narrow.high <= ci.high);
    CHECK(narrow.high - narrow.low < ci.high - ci.low);
  }
}

TEST_CASE("metrics: bootstrap width shrinks as n grows", "[metrics][bootstrap]") {
  const pb::ConfidenceInterval small = pb::bootstrap_mean_ci(coin_scores(100, 5), 0.95, 1000, 0);
  const pb::ConfidenceInterval large = pb::bootstrap_mean_ci(coin_scores(1600, 5), 0.95, 1000, 0);
  const double ratio = (small.high - small.low) / (large.high - large.low);
  CHECK(ratio == Approx(4.0).epsilon(0.25));  // width ~ 1 / sqrt(n)
}

TEST_CASE("metrics: bootstrap degenerate inputs", "[metrics][bootstrap]") {
  const pb::ConfidenceInterval empty = pb::bootstrap_mean_ci({});
  CHECK(std::isnan(empty.mean));
  CHECK(std::isnan(empty.low));
  CHECK(std::isnan(empty.high));
  const pb::ConfidenceInterval one = pb::bootstrap_mean_ci({0.3});
  CHECK(one.mean == 0.3);
  CHECK(one.low == 0.3);
  CHECK(one.high == 0.3);
  // All equal: every resample has the same mean, so the interval has zero width.
  const pb::ConfidenceInterval flat = pb::bootstrap_mean_ci(std::vector<double>(37, 0.1));
  CHECK(flat.low == flat.mean);
  CHECK(flat.high == flat.mean);
  CHECK(flat.mean == Approx(0.1).margin(1e-15));
  // {0, 1}: resample means are 0, 1/2, 1 with probability 1/4, 1/2, 1/4, so the 2.5% and 97.5%
  // quantiles of 1000 of them are 0 and 1 (each end needs only 26 draws of ~250).
  const pb::ConfidenceInterval two = pb::bootstrap_mean_ci({0.0, 1.0}, 0.95, 1000, 3);
  CHECK(two.mean == 0.5);
  CHECK(two.low == 0.0);
  CHECK(two.high == 1.0);
  // One resample: both quantiles are that resample's mean.
  const pb::ConfidenceInterval single = pb::bootstrap_mean_ci({0.0, 1.0, 1.0}, 0.95, 1, 0);
  CHECK(single.low == single.high);
}

TEST_CASE("metrics: bootstrap rejects bad parameters and non-finite scores",
          "[metrics][bootstrap]") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(pb::bootstrap_mean_ci({1.0}, 1.0), Contains("confidence level"));
  CHECK_THROWS_WITH(pb::bootstrap_mean_ci({1.0}, 0.0), Contains("confidence level"));
  CHECK_THROWS_WITH(pb::bootstrap_mean_ci({1.0}, std::nan("")), Contains("confidence level"));
  CHECK_THROWS_WITH(pb::bootstrap_mean_ci({1.0}, 0.9, 0), Contains("resamples"));
  CHECK_THROWS_WITH(pb::bootstrap_mean_ci({1.0, std::nan("")}), Contains("score #1 of 2"));
}
