// `random`: a uniformly random subset of the visual tokens, chosen before the projector. The sanity
// floor every method must beat (DART, Fig. 2, shows random beating FastV and SparseVLM at 88.9%
// reduction; pruners.md §4).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "core/error.h"
#include "core/hash.h"
#include "pruners/methods.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

class RandomPruner : public Pruner {
 public:
  RandomPruner(Budget budget, uint64_t seed) : budget_(std::move(budget)), seed_(seed) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = random_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    n_ = image_tokens_per_image(cfg);
    keep_ = budget_.keep_count(n_);
    return {{"kept", keep_}, {"of", n_}, {"seed", seed_}, {"stage", "before projector"}};
  }
  // LLaVA-NeXT: every 576-token tile is one LLaVA-1.5 image to this method, so only a ratio reads the same.
  nlohmann::json resolve_anyres(const LlavaConfig& cfg) override {
    if (budget_.kind == Budget::Kind::kTokens) {
      throw Error(fmt::format("random: --budget {} has no LLaVA-NeXT reading: the method runs on each 576-token tile "
                              "separately; use keep:R",
                              budget_.text));
    }
    nlohmann::json out = Pruner::resolve_anyres(cfg);
    out["per_tile"] = true;
    return out;
  }
  int64_t nominal_kept() const override { return keep_; }
  void begin_sample(const std::string& key) override {
    // Per-sample stream from (seed, key): the same draw whatever order or shard the sample runs in.
    rng_.seed(fnv1a64(key, fnv1a64(std::to_string(seed_))));
  }
  at::Tensor select_before_projector(const VisionStageInput& input) override {
    const int64_t n = input.features.size(0);
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
    // Partial Fisher-Yates with an unbiased bounded draw (no implementation-defined distributions).
    const int64_t k = std::min(keep_, n);
    for (int64_t i = 0; i < k; ++i) {
      const uint64_t span = static_cast<uint64_t>(n - i);
      const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
      uint64_t draw = rng_();
      while (draw >= limit) draw = rng_();
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(i + static_cast<int64_t>(draw % span))]);
    }
    order.resize(static_cast<size_t>(k));
    std::sort(order.begin(), order.end());
    return at::tensor(order, at::kLong);
  }

 private:
  Budget budget_;
  uint64_t seed_;
  int64_t n_ = 0, keep_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace

PrunerInfo random_info() {
  return {"random",
          "Uniformly random visual tokens, chosen before the projector (seeded per sample)",
          "control (pruners.md §4.10)",
          "-",
          "reindex",  // chosen before the projector: the LLM sees a shorter, contiguous sequence
          {{"seed", "0", "random seed, combined with each sample's key"}},
          AnyresHandling::kPerTile,
          "each 576-token tile keeps keep:R of its own patches (tokens:K has no per-tile reading and "
          "is refused); the packed sequence keeps the chosen rows and every image_newline"};
}

std::unique_ptr<Pruner> make_random(const PrunerParams& params, const Budget& budget) {
  if (budget.kind != Budget::Kind::kTokens && budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("random: needs --budget tokens:N or keep:R");
  }
  const int64_t seed = int_param("random", params, "seed", 0);
  return std::make_unique<RandomPruner>(budget, static_cast<uint64_t>(seed));
}

}  // namespace pb
