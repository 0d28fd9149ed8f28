// PyramidDrop (Xing et al., CVPR 2025, arXiv 2410.17247), as Cooperx521/PyramidDrop does it
// (llava/model/modeling_llama_pdrop.py, pdrop_forward / pdrop_rank_drop; llava/eval/model_vqa_loader.py):
// the decoder is split into stages at boundary layers b_1 < b_2 < ...; once layer b_s - 1 has run,
// the last prompt token's attention over the current rows is computed with layer b_s's input RMSNorm,
// q_proj/k_proj and RoPE (without running the layer), averaged over heads, and the image tokens with
// the highest attention are kept: int(N_v * lambda^s) of the ORIGINAL N_v. Positions are then
// re-indexed 0..T'-1.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "flops/flops.h"
#include "pruners/layer_list.h"
#include "pruners/methods.h"
#include "pruners/pdrop.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

std::vector<int64_t> pdrop_stage_counts(int64_t n, double lambda, size_t stages) {
  std::vector<int64_t> counts;
  double ratio = 1.0;
  for (size_t s = 0; s < stages; ++s) {
    ratio *= lambda;  // image_token_ratio_list = [lambda, lambda^2, ...] (README: [0.5, 0.25, 0.125])
    // int(image_tokens * ratio) in pdrop_rank_drop truncates toward zero.
    counts.push_back(static_cast<int64_t>(static_cast<double>(n) * ratio));
  }
  return counts;
}

std::vector<LayerTokens> pdrop_schedule(int64_t layers, int64_t n, const std::vector<int64_t>& boundaries,
                                        double lambda) {
  const std::vector<int64_t> counts = pdrop_stage_counts(n, lambda, boundaries.size());
  std::vector<LayerTokens> s;
  size_t stage = 0;
  int64_t v = n;
  for (int64_t l = 0; l < layers; ++l) {
    while (stage < boundaries.size() && boundaries[stage] == l) v = counts[stage++];
    s.push_back({v, v});
  }
  return s;
}

namespace {

class PdropObserver : public PrefillObserver {
 public:
  PdropObserver(std::vector<int64_t> boundaries, std::vector<int64_t> counts)
      : boundaries_(std::move(boundaries)), counts_(std::move(counts)) {}
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& /*attention*/) override {
    for (size_t s = 0; s < boundaries_.size(); ++s) {
      if (boundaries_[s] != layer + 1) continue;
      const int64_t keep = std::min(counts_[s], state.image_len);
      // [H, T] -> mean over heads, image columns: [image_len] fp32.
      const at::Tensor attention = state.probe->attention_of_last_query(layer + 1, state);
      const at::Tensor scores = attention.mean(0).narrow(0, state.image_begin, state.image_len);
      const at::Tensor kept = top_k_indices(scores, keep);
      state.keep_rows(rows_keeping_visual(state.hidden.size(0), state.image_begin, state.image_len, kept));
      state.reindex_positions();
    }
  }

 private:
  std::vector<int64_t> boundaries_, counts_;
};

// The largest lambda in [0, 1] for which `fits` holds (fits is monotone: true below some lambda);
// pb::Error naming the budget when not even lambda = 0 (every stage empty) fits.
template <typename Fits>
double largest_lambda(const Budget& budget, Fits fits) {
  if (fits(1.0)) return 1.0;
  if (!fits(0.0)) {
    throw Error(fmt::format("pdrop: --budget {} cannot be met: the layers before the first stage boundary "
                            "alone exceed it (give an earlier first boundary, e.g. layers=2/8/16)",
                            budget.text));
  }
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

class PdropPruner : public Pruner {
 public:
  PdropPruner(Budget budget, std::vector<int64_t> boundaries, double lambda)
      : budget_(std::move(budget)), boundaries_(std::move(boundaries)), lambda_(lambda) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = pdrop_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override { return resolve_for_tokens(cfg, image_tokens_per_image(cfg)); }
  // LLaVA-NeXT resolves again for every image's real visual-token count `n` (the packed span).
  nlohmann::json resolve_for_tokens(const LlavaConfig& cfg, int64_t n) override {
    const int64_t layers = cfg.text.num_hidden_layers;
    check_layers_inside("pdrop", boundaries_, layers);
    if (boundaries_.front() < 1) throw Error("pdrop: a stage boundary must be >= 1 (layer b-1 runs before it)");
    auto schedule = [&](double lambda) { return pdrop_schedule(layers, n, boundaries_, lambda); };
    switch (budget_.kind) {
      case Budget::Kind::kDefault:
        break;
      case Budget::Kind::kTokens:
      case Budget::Kind::kKeepRatio: {
        // The PDrop code has no token budget; prune-bench maps "N tokens" to the largest lambda
        // whose mean visual-token count over the decoder layers is at most N (docs/pruners.md).
        const auto target = static_cast<double>(budget_.keep_count(n));
        lambda_ = largest_lambda(budget_, [&](double lambda) {
          double sum = 0;
          for (const LayerTokens& t : schedule(lambda)) sum += static_cast<double>(t.in);
          return sum / static_cast<double>(layers) <= target;
        });
        break;
      }
      case Budget::Kind::kFlops: {
        const FlopsConvention convention = flops_convention_from_name(budget_.convention);
        if (flops_convention_counts_text(convention)) {
          throw Error(fmt::format("pdrop: --budget {} counts text tokens, which differ per prompt; use the "
                                  "image-only fitprune convention",
                                  budget_.text));
        }
        const double full = llm_prefill_flops(cfg, 0, uniform_schedule(layers, n), convention);
        lambda_ = largest_lambda(budget_, [&](double lambda) {
          return 1.0 - llm_prefill_flops(cfg, 0, schedule(lambda), convention) / full >= budget_.ratio;
        });
        break;
      }
      default:
        throw Error("pdrop: a per-layer schedule budget is not a PDrop budget (use lambda=, tokens:N, keep:R or flops:F)");
    }
    const std::vector<LayerTokens> s = schedule(lambda_);
    kept_ = s.back().in;
    observer_ = std::make_unique<PdropObserver>(boundaries_, pdrop_stage_counts(n, lambda_, boundaries_.size()));
    return {{"lambda", lambda_},
            {"layers", boundaries_},
            {"stage_tokens", pdrop_stage_counts(n, lambda_, boundaries_.size())},
            {"kept", kept_},
            {"of", n},
            {"visual_tokens_per_layer", schedule_to_json(s)}};
  }
  int64_t nominal_kept() const override { return kept_; }
  PrefillObserver* llm_observer() override { return observer_.get(); }

 private:
  Budget budget_;
  std::vector<int64_t> boundaries_;
  double lambda_;
  int64_t kept_ = 0;
  std::unique_ptr<PdropObserver> observer_;
};

}  // namespace

PrunerInfo pdrop_info() {
  return {"pdrop",
          "PyramidDrop: at each stage boundary keep the image tokens the last prompt token attends to most "
          "(next layer's q/k, head mean), int(N lambda^s) of them",
          "Xing et al., PyramidDrop: Accelerating Your Large Vision-Language Models via Pyramid Visual Redundancy "
          "Reduction, CVPR 2025 (arXiv 2410.17247)",
          "Cooperx521/PyramidDrop@6444f30 llava/model/modeling_llama_pdrop.py (pdrop_rank_drop)",
          "reindex",
          {{"lambda", "0.5", "keep ratio per stage (stage s keeps int(N lambda^s)) when no --budget is given"},
           {"layers", "8/16/24", "stage boundaries b: layer b is the first to run on the stage's tokens"}},
          AnyresHandling::kPackedSpan,
          "the whole packed span (newlines included) is the image; stage counts are lambda^s of the "
          "real count, and tokens:K, keep:R, flops:F are solved per image"};
}

std::unique_ptr<Pruner> make_pdrop(const PrunerParams& params, const Budget& budget) {
  const double lambda = double_param("pdrop", params, "lambda", 0.5);
  if (!(lambda > 0 && lambda <= 1)) throw Error(fmt::format("pdrop: lambda={} must be in (0, 1]", lambda));
  if (budget.kind != Budget::Kind::kDefault && params.count("lambda") > 0) {
    throw Error("pdrop: give either lambda= or --budget, not both");
  }
  return std::make_unique<PdropPruner>(budget, layer_list_param("pdrop", params, "layers", "8/16/24"), lambda);
}

}  // namespace pb
