// The VQA accuracy of one prediction against n human answers: the mean over the n leave-one-out
// subsets of min(1, matches / 3) (GT-Vision-Lab vqaEval.py, VQAEval.evaluate).
#pragma once

#include <string>
#include <vector>

namespace pb::detail {

// How the n per-subset values are averaged. They are always in {0, 1/3, 2/3, 1}, so the three
// rules differ only in the last bit (e.g. 0.3 vs 0.29999999999999993), but each implementation's
// own double is reproduced exactly.
enum class VqaMean {
  kSequential,  // float(sum(acc)) / len(acc): vqaEval.py, m4c TextVQAAccuracyEvaluator
  kExact,       // statistics.mean: exact rational mean, rounded once (lmms-eval)
  kNumpy,       // numpy.mean: pairwise summation, then divide (VLMEvalKit hit_calculate)
};

// `answers` and `prediction` already normalised as the implementation does; answers is non-empty.
// A subset leaves out one answer, so with n answers only n - 1 can match: n = 1 always scores 0.
double vqa_leave_one_out_accuracy(const std::vector<std::u32string>& answers,
                                  const std::u32string& prediction,
                                  VqaMean mean);

// numpy's pairwise float64 sum (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum), which
// np.add.reduce uses for a contiguous array, starting from the identity 0.0.
double numpy_sum(const double* values, size_t n);

// GCC/Clang 128-bit integers (__extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 Uint128;

// The double nearest to num / den (ties to even); den > 0.
double nearest_double_ratio(Uint128 num, Uint128 den);

}  // namespace pb::detail
