// The random numbers behind SynthVQA: explicit algorithms (SplitMix64 seeding, xoshiro256**) and
// explicit range mappings, so the same seed gives the same bytes with any compiler or standard
// library (std::uniform_*_distribution outputs are implementation-defined).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/hash.h"

namespace pb::synth {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : state_) s = splitmix64(seed);
  }
  // One independent stream per (split, seed, sample index): samples can be drawn in any order.
  static Rng for_sample(std::string_view split, uint64_t seed, uint64_t index) {
    return Rng(fnv1a64(split) ^ splitmix64_once(seed) ^ splitmix64_once(index * 0x9E3779B97F4A7C15ull + 1));
  }

  uint64_t next() {  // xoshiro256** (Blackman & Vigna, prng.di.unimi.it)
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // An integer in [lo, hi] (inclusive), by scaling a uniform double (bias below 2^-40 here).
  int64_t integer(int64_t lo, int64_t hi) {
    PB_CHECK(hi >= lo, "Rng::integer: empty range");
    const auto span = static_cast<double>(hi - lo + 1);
    const auto v = lo + static_cast<int64_t>(uniform() * span);
    return v > hi ? hi : v;
  }
  bool chance(double p) { return uniform() < p; }
  template <typename Container>
  const auto& pick(const Container& items) {
    return items[static_cast<size_t>(integer(0, static_cast<int64_t>(items.size()) - 1))];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64_once(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  uint64_t splitmix64(uint64_t& x) {
    const uint64_t r = splitmix64_once(x);
    x += 0x9E3779B97F4A7C15ull;
    return r;
  }
  uint64_t state_[4];
};

}  // namespace pb::synth
