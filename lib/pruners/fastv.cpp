// FastV (Chen et al., ECCV 2024, arXiv 2403.06764), as pkunlp-icler/FastV does it
// (src/FastV/llava-hf/.../modeling_llama.py, in-place drop with KV cache): layers 0..K-1 run on every
// token; layer K-1's attention row of the last prompt token, averaged over heads, ranks the image
// tokens; the top ones are kept and layers K.. run on them with their original position ids.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "flops/flops.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

class FastvObserver : public PrefillObserver {
 public:
  FastvObserver(int64_t k, int64_t keep) : k_(k), keep_(keep) {}
  bool wants_attention(int64_t layer) const override { return layer == k_ - 1; }
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& attention) override {
    if (layer != k_ - 1 || state.image_len <= keep_) return;
    // [H, T, T] -> the last query row, mean over heads, image columns: [image_len].
    const at::Tensor scores =
        attention.select(1, attention.size(1) - 1).mean(0).narrow(0, state.image_begin, state.image_len);
    const at::Tensor kept = top_k_indices(scores, keep_);
    state.keep_rows(rows_keeping_visual(state.hidden.size(0), state.image_begin, state.image_len, kept));
  }

 private:
  int64_t k_, keep_;
};

class FastvPruner : public Pruner {
 public:
  FastvPruner(Budget budget, int64_t k, double r) : budget_(std::move(budget)), k_(k), r_(r) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = fastv_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override { return resolve_for_tokens(cfg, image_tokens_per_image(cfg)); }
  // LLaVA-NeXT resolves again for every image's real visual-token count `n` (the packed span).
  nlohmann::json resolve_for_tokens(const LlavaConfig& cfg, int64_t n) override {
    const int64_t layers = cfg.text.num_hidden_layers;
    if (k_ < 1 || k_ >= layers) {
      throw Error(fmt::format("fastv: k={} must be in [1, {}] (it ranks with layer k-1's attention)", k_, layers - 1));
    }
    switch (budget_.kind) {
      case Budget::Kind::kDefault:
        keep_ = std::llround(static_cast<double>(n) * (1.0 - r_));  // round(N_v (1 - R)), pruners.md §4.1
        break;
      case Budget::Kind::kFlops: {
        // The largest keep count whose LLM-prefill FLOPs reduction reaches the budget.
        const FlopsConvention convention = flops_convention_from_name(budget_.convention);
        if (flops_convention_counts_text(convention)) {
          throw Error(fmt::format("fastv: --budget {} counts text tokens, which differ per prompt; use the "
                                  "image-only fitprune convention",
                                  budget_.text));
        }
        const double full = llm_prefill_flops(cfg, 0, uniform_schedule(layers, n), convention);
        keep_ = 0;
        for (int64_t keep = n; keep >= 0; --keep) {
          if (1.0 - llm_prefill_flops(cfg, 0, schedule(layers, n, keep), convention) / full >= budget_.ratio) {
            keep_ = keep;
            break;
          }
        }
        break;
      }
      case Budget::Kind::kSchedule:
        throw Error("fastv: a per-layer schedule budget is not a FastV budget (use tokens:N, keep:R or flops:F)");
      default:
        keep_ = budget_.keep_count(n);
    }
    observer_ = std::make_unique<FastvObserver>(k_, keep_);
    nlohmann::json sched = nlohmann::json::array();
    for (const LayerTokens& t : schedule(layers, n, keep_)) sched.push_back(t.in);
    return {{"k", k_},
            {"r", 1.0 - static_cast<double>(keep_) / static_cast<double>(n)},
            {"kept", keep_},
            {"of", n},
            {"visual_tokens_per_layer", sched}};
  }
  int64_t nominal_kept() const override { return keep_; }
  PrefillObserver* llm_observer() override { return observer_.get(); }

 private:
  std::vector<LayerTokens> schedule(int64_t layers, int64_t n, int64_t keep) const {
    std::vector<LayerTokens> s;
    for (int64_t l = 0; l < layers; ++l) {
      const int64_t v = l < k_ ? n : keep;
      s.push_back({v, v});
    }
    return s;
  }
  Budget budget_;
  int64_t k_;
  double r_;
  int64_t keep_ = 0;
  std::unique_ptr<FastvObserver> observer_;
};

}  // namespace

PrunerInfo fastv_info() {
  return {"fastv",
          "Drop the image tokens least attended by the last prompt token at layer K-1 (head mean)",
          "Chen et al., An Image is Worth 1/2 Tokens After Layer 2, ECCV 2024 (arXiv 2403.06764)",
          "pkunlp-icler/FastV src/FastV/llava-hf/.../modeling_llama.py",
          "original",
          {{"k", "2", "the layer that runs first on the kept tokens (K); ranking uses layer K-1"},
           {"r", "0.5", "fraction of image tokens dropped when no --budget is given (R)"}},
          AnyresHandling::kPackedSpan,
          "the whole packed span (newlines included) is the image; tokens:K keeps K of the real "
          "count, keep:R, flops:F and the default R are resolved per image"};
}

std::unique_ptr<Pruner> make_fastv(const PrunerParams& params, const Budget& budget) {
  const double r = double_param("fastv", params, "r", 0.5);
  if (!(r >= 0 && r < 1)) throw Error(fmt::format("fastv: r={} must be in [0, 1)", r));
  if (budget.kind != Budget::Kind::kDefault && params.count("r") > 0) {
    throw Error("fastv: give either r= or --budget, not both");
  }
  return std::make_unique<FastvPruner>(budget, int_param("fastv", params, "k", 2), r);
}

}  // namespace pb
