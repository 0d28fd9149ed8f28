#include "metrics/vqa_accuracy.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace pb::detail {

namespace {

// min(1, float(c) / 3) as Python computes it.
double subset_accuracy(size_t matches) { return std::min(1.0, static_cast<double>(matches) / 3.0); }

}  // namespace

double numpy_sum(const double* a, size_t n) {
  constexpr size_t kBlock = 128;  // PW_BLOCKSIZE
  if (n < 8) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= kBlock) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_sum(a, n2) + numpy_sum(a + n2, n - n2);
}

double nearest_double_ratio(Uint128 num, Uint128 den) {
  PB_CHECK(den > 0, "nearest_double_ratio: zero denominator");
  if (num == 0) return 0.0;
  const Uint128 kTop = Uint128{1} << 53;
  // Scale so that the quotient has exactly 53 bits: q in [2^52, 2^53).
  int exponent = 0;
  while (num / den >= kTop) {
    den <<= 1;
    ++exponent;
  }
  while (num / den < kTop / 2) {
    num <<= 1;
    --exponent;
  }
  Uint128 q = num / den;
  const Uint128 r2 = (num % den) * 2;
  if (r2 > den || (r2 == den && (q & 1) != 0)) ++q;  // round half to even
  return std::ldexp(static_cast<double>(q), exponent);
}

double vqa_leave_one_out_accuracy(const std::vector<std::u32string>& answers,
                                  const std::u32string& prediction,
                                  VqaMean mean) {
  PB_CHECK(!answers.empty(), "vqa_leave_one_out_accuracy: no answers");
  const size_t n = answers.size();
  std::vector<bool> equal(n);
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    equal[i] = answers[i] == prediction;
    if (equal[i]) ++k;
  }
  // Subset i leaves answer i out: it sees k - 1 matches if answer i matched, k otherwise.
  std::vector<double> acc(n);
  for (size_t i = 0; i < n; ++i) acc[i] = subset_accuracy(equal[i] ? k - 1 : k);
  switch (mean) {
    case VqaMean::kSequential: {
      double sum = 0.0;
      for (double a : acc) sum += a;
      return sum / static_cast<double>(n);
    }
    case VqaMean::kNumpy:
      return numpy_sum(acc.data(), n) / static_cast<double>(n);
    case VqaMean::kExact: {
      // Each value is an exact multiple of 2^-54: 1/3 as a double is 6004799503160661 * 2^-54,
      // 2/3 is twice that, 1 is 2^54 * 2^-54. Sum the numerators exactly, divide once.
      constexpr unsigned long long kThird = 6004799503160661ULL;
      Uint128 num = 0;
      for (size_t i = 0; i < n; ++i) {
        const size_t m = equal[i] ? k - 1 : k;
        num += m >= 3 ? (static_cast<Uint128>(1) << 54) : static_cast<Uint128>(m) * kThird;
      }
      return std::ldexp(nearest_double_ratio(num, n), -54);  // exact: the result is normal
    }
  }
  return 0.0;
}

}  // namespace pb::detail
