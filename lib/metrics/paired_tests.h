// Paired significance tests for "is the candidate worse than the base on the same questions?"
// (`prune-bench compare`, docs/sweeps.md). Both are one-sided: the alternative is that the
// candidate's accuracy is lower; a small p says the drop is unlikely to be chance.
#pragma once

#include <cstdint>
#include <vector>

namespace pb {

// Exact binomial McNemar test on 0/1 scores. Of the n = losses + gains discordant pairs, `losses`
// are questions the base got right and the candidate wrong, `gains` the reverse. Under "no
// difference" losses ~ Binomial(n, 1/2), so p = P(X >= losses) = sum_{k=losses}^{n} C(n, k) / 2^n.
// n = 0 gives p = 1 (nothing suggests a drop).
double mcnemar_exact_one_sided(int64_t losses, int64_t gains);

struct PairedBootstrap {
  double mean_difference = 0;    // mean of candidate - base
  double p_value = 1;            // share of resamples whose mean difference is >= 0
  double ci_low = 0, ci_high = 0;  // 95% percentile interval of the resampled mean difference
  int resamples = 0;
  uint64_t seed = 0;
};

// Paired bootstrap on per-question differences d_i = candidate_i - base_i (Koehn 2004, "Statistical
// significance tests for machine translation evaluation"): `resamples` times draw n indices with
// replacement (std::mt19937_64 seeded with `seed`, each index by metrics/bootstrap.h uniform_index,
// in order), and p = #{resamples whose sum of d is >= -1e-9} / resamples; the 1e-9 absorbs float
// rounding of sums that are exactly 0 (VQA scores are multiples of 0.1 or 1/30). Empty input and
// all-zero differences give p = 1. pb::Error when sizes differ or resamples < 1.
PairedBootstrap paired_bootstrap_one_sided(const std::vector<double>& base, const std::vector<double>& candidate,
                                           int resamples = 10000, uint64_t seed = 0);

}  // namespace pb
