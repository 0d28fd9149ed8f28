// The paired tests of `prune-bench compare` against values computed by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "core/error.h"
#include "metrics/bootstrap.h"
#include "metrics/paired_tests.h"

using Catch::Matchers::WithinAbs;
using Catch::Matchers::WithinRel;

TEST_CASE("McNemar exact one-sided p equals the binomial tail computed by hand", "[metrics][paired]") {
  // 8 losses, 2 gains: P(X >= 8 | n = 10) = (C(10,8) + C(10,9) + C(10,10)) / 2^10 = (45 + 10 + 1) / 1024.
  CHECK_THAT(pb::mcnemar_exact_one_sided(8, 2), WithinRel(56.0 / 1024.0, 1e-12));
  // 5 / 5: (252 + 210 + 120 + 45 + 10 + 1) / 1024.
  CHECK_THAT(pb::mcnemar_exact_one_sided(5, 5), WithinRel(638.0 / 1024.0, 1e-12));
  // 3 losses, none gained: 1 / 2^3. The reverse says nothing about a drop: p = 1.
  CHECK_THAT(pb::mcnemar_exact_one_sided(3, 0), WithinRel(0.125, 1e-12));
  CHECK_THAT(pb::mcnemar_exact_one_sided(0, 3), WithinRel(1.0, 1e-12));
  CHECK_THAT(pb::mcnemar_exact_one_sided(1, 1), WithinRel(0.75, 1e-12));
  CHECK(pb::mcnemar_exact_one_sided(0, 0) == 1.0);
  // 20 of 20 discordant pairs lost: 2^-20; far tails stay accurate through lgamma.
  CHECK_THAT(pb::mcnemar_exact_one_sided(20, 0), WithinRel(std::ldexp(1.0, -20), 1e-10));
  // n = 1000, all lost: 2^-1000 (representable as a double, ~9.3e-302).
  CHECK_THAT(pb::mcnemar_exact_one_sided(1000, 0), WithinRel(std::ldexp(1.0, -1000), 1e-9));
  CHECK_THROWS_AS(pb::mcnemar_exact_one_sided(-1, 2), pb::Error);
}

TEST_CASE("uniform_index follows mt19937_64, which the C++ standard fixes", "[metrics][paired]") {
  std::mt19937_64 reference;  // default seed 5489: the standard's 10000th output is 9981545732273789042
  for (int i = 1; i < 10000; ++i) reference();
  CHECK(reference() == 9981545732273789042ULL);
  // Without a rejection (probability ~2^-62 here) an index is the raw output mod n.
  std::mt19937_64 a(0), b(0);
  for (int i = 0; i < 100; ++i) CHECK(pb::uniform_index(a, 6) == b() % 6);
}

TEST_CASE("paired bootstrap p: exact cases and an enumerable one", "[metrics][paired]") {
  // Every question lost: no resample has a sum >= 0.
  const pb::PairedBootstrap lost = pb::paired_bootstrap_one_sided({1, 0.6, 1}, {0, 0.3, 0.6});
  CHECK(lost.p_value == 0.0);
  CHECK_THAT(lost.mean_difference, WithinAbs(-(1.0 + 0.3 + 0.4) / 3.0, 1e-12));
  CHECK(lost.ci_high < 0.0);
  CHECK(lost.resamples == 10000);
  // Identical scores: p = 1, difference 0.
  const pb::PairedBootstrap same = pb::paired_bootstrap_one_sided({0.3, 1, 0}, {0.3, 1, 0});
  CHECK(same.p_value == 1.0);
  CHECK(same.mean_difference == 0.0);
  // Every question gained: every resample sum is > 0.
  CHECK(pb::paired_bootstrap_one_sided({0, 0.3}, {0.6, 0.9}).p_value == 1.0);
  // Empty: p = 1.
  CHECK(pb::paired_bootstrap_one_sided({}, {}).p_value == 1.0);
  CHECK_THROWS_AS(pb::paired_bootstrap_one_sided({1}, {1, 0}), pb::Error);

  // d = (0, -0.3, 0): a resample's sum is >= 0 exactly when index 1 is never drawn, probability
  // (2/3)^3 = 8/27. With seed 0 the count is what the documented draw order gives...
  const std::vector<double> base = {0.3, 0.6, 1.0}, cand = {0.3, 0.3, 1.0};
  const pb::PairedBootstrap p = pb::paired_bootstrap_one_sided(base, cand, 10000, 0);
  std::mt19937_64 rng(0);
  int64_t without_1 = 0;
  for (int r = 0; r < 10000; ++r) {
    bool drawn = false;
    for (int i = 0; i < 3; ++i) drawn = (pb::uniform_index(rng, 3) == 1) || drawn;
    without_1 += drawn ? 0 : 1;
  }
  CHECK(p.p_value == static_cast<double>(without_1) / 10000.0);
  // ...and it is within 4 binomial standard errors (sqrt(8/27 * 19/27 / 10000) = 0.0046) of 8/27.
  CHECK_THAT(p.p_value, WithinAbs(8.0 / 27.0, 4 * 0.0046));
  // Deterministic for seed 0; another seed draws other indices.
  CHECK(pb::paired_bootstrap_one_sided(base, cand, 10000, 0).p_value == p.p_value);
  CHECK(pb::paired_bootstrap_one_sided(base, cand, 10000, 1).p_value != p.p_value);

  // d = (0.3, -0.3) with scores whose differences round: (0.6 - 0.3) + (0.3 - 0.6) is exactly 0 and
  // a tie counts as "not worse", so only the (1, 1) draw (probability 1/4) is below 0: p ~ 3/4.
  const pb::PairedBootstrap tie = pb::paired_bootstrap_one_sided({0.3, 0.6}, {0.6, 0.3});
  CHECK_THAT(tie.p_value, WithinAbs(0.75, 4 * 0.0044));  // SE sqrt(3/16 / 10000) = 0.0043
  CHECK(tie.mean_difference == 0.0);
}
