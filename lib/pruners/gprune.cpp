// G-Prune (Jiang et al., AAAI 2025, arXiv 2501.02268), as jytmelon/G-Prune does it in
// LLaVA-NeXT/llava/model/llava_arch.py (prepare_inputs_labels_for_multimodal): the projected visual
// tokens are graph nodes linked by cosine similarity; feature norms flow through the graph for a few
// steps, are divided by each node's degree, and the top tokens keep their original positions
// (llava_llama.py passes keep_indices as position ids). The LLaVA-1.5 form is the code's step on the
// 576-token base image (pruners.md §3).
#include "pruners/gprune.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

GpruneScores gprune_scores(const at::Tensor& embeds, double threshold, double temperature, int64_t steps) {
  PB_CHECK(embeds.dim() == 2 && embeds.size(0) > 0, "gprune: embeddings must be [N, D]");
  const at::Tensor x = embeds.to(at::kFloat);  // [N, D]
  // torch.nn.functional.normalize(p=2, dim=1): x / max(||x||, 1e-12).
  const at::Tensor norms = x.norm(2, {1}, /*keepdim=*/true);          // [N, 1]
  const at::Tensor unit = x / norms.clamp_min(1e-12);                  // [N, D]
  at::Tensor a = at::matmul(unit, unit.t());                           // [N, N] cosine, S_ii = 1
  // llava_arch.py, in this order: entries below the threshold set to 0 (exactly `threshold`
  // survives), divide by the temperature, then every entry with |value| < 1e-6 set to -5000 so the
  // softmax gives it exactly 0. The last rule is on values, not on the threshold mask: an exactly
  // orthogonal pair is removed even when the threshold would keep it.
  a.masked_fill_(a < threshold, 0.0);
  a = a / temperature;
  a.masked_fill_(a.abs() < 1e-6, -5000.0);
  const at::Tensor p = at::softmax(a, /*dim=*/1);                      // [N, N] row-stochastic
  // Degree = entries the softmax left above zero (sum(A > 0, dim=1)), self-loop included.
  const at::Tensor degree = (p > 0).sum(1);                            // [N] int64
  // r = w^T P^steps with w the L2 norms of the unnormalised embeddings (torch.matrix_power).
  const at::Tensor w = norms.view({1, -1});                            // [1, N]
  const at::Tensor r = at::matmul(w, at::matrix_power(p, steps)).view({-1});  // [N]
  return {r / degree.to(at::kFloat), degree};
}

namespace {

class GprunePruner : public Pruner {
 public:
  GprunePruner(Budget budget, double threshold, double temperature, int64_t steps, double keep)
      : budget_(std::move(budget)),
        threshold_(threshold),
        temperature_(temperature),
        steps_(steps),
        keep_ratio_(keep) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = gprune_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    n_ = image_tokens_per_image(cfg);
    switch (budget_.kind) {
      case Budget::Kind::kDefault:
        keep_ = ratio_count(keep_ratio_);
        break;
      case Budget::Kind::kKeepRatio:
        keep_ = ratio_count(budget_.ratio);
        break;
      case Budget::Kind::kTokens:
        keep_ = budget_.keep_count(n_);
        break;
      default:
        throw Error(fmt::format("gprune: --budget {} is not a G-Prune budget (use tokens:N or keep:R)", budget_.text));
    }
    return {{"threshold", threshold_},
            {"temperature", temperature_},
            {"steps", steps_},
            {"kept", keep_},
            {"of", n_},
            {"stage", "after projector"}};
  }
  int64_t nominal_kept() const override { return keep_; }
  at::Tensor select_after_projector(const at::Tensor& embeds) override {
    PB_CHECK(embeds.size(0) == n_, "gprune: visual token count differs from the resolved one");
    const GpruneScores s = gprune_scores(embeds, threshold_, temperature_, steps_);
    return top_k_indices(s.importance, keep_);
  }

 private:
  // llava_arch.py keeps topk(int(keep_ratio * 576)): Python int() truncates.
  int64_t ratio_count(double ratio) const {
    const auto k = static_cast<int64_t>(ratio * static_cast<double>(n_));
    if (k < 1) {
      throw Error(fmt::format("gprune: keep ratio {} keeps int({} x {}) = 0 visual tokens", ratio, ratio, n_));
    }
    return k;
  }
  Budget budget_;
  double threshold_, temperature_;
  int64_t steps_;
  double keep_ratio_;
  int64_t n_ = 0, keep_ = 0;
};

}  // namespace

PrunerInfo gprune_info() {
  return {"gprune",
          "Push feature norms over a cosine graph of the projected tokens, divide by degree, keep the top",
          "Jiang et al., What Kind of Visual Tokens Do We Need? Training-free Visual Token Pruning for Multi-modal "
          "Large Language Models from the Perspective of Graph, AAAI 2025 (arXiv 2501.02268)",
          "jytmelon/G-Prune LLaVA-NeXT/llava/model/llava_arch.py (+ language_model/llava_llama.py)",
          "original",
          {{"threshold", "0.5", "cosine similarity below which an edge is removed (`similarity`)"},
           {"temperature", "0.03", "softmax temperature of the edge weights"},
           {"steps", "5", "propagation steps, the matrix power (`iterate_num`)"},
           {"keep", "0.5", "keep ratio when no --budget is given: int(keep * N) tokens (`keep_ratio`)"}}};
}

std::unique_ptr<Pruner> make_gprune(const PrunerParams& params, const Budget& budget) {
  const double threshold = double_param("gprune", params, "threshold", 0.5);
  const double temperature = double_param("gprune", params, "temperature", 0.03);
  const int64_t steps = int_param("gprune", params, "steps", 5);
  const double keep = double_param("gprune", params, "keep", 0.5);
  if (!std::isfinite(threshold)) throw Error(fmt::format("gprune: threshold={} must be finite", threshold));
  if (!(temperature > 0) || !std::isfinite(temperature)) {
    throw Error(fmt::format("gprune: temperature={} must be > 0", temperature));
  }
  if (steps < 0) throw Error(fmt::format("gprune: steps={} must be >= 0", steps));
  if (!(keep > 0 && keep <= 1)) throw Error(fmt::format("gprune: keep={} must be in (0, 1]", keep));
  if (budget.kind == Budget::Kind::kFlops || budget.kind == Budget::Kind::kSchedule) {
    throw Error(fmt::format("gprune: --budget {} is not a G-Prune budget (use tokens:N or keep:R)", budget.text));
  }
  if (budget.kind != Budget::Kind::kDefault && params.count("keep") > 0) {
    throw Error("gprune: give either keep= or --budget, not both");
  }
  return std::make_unique<GprunePruner>(budget, threshold, temperature, steps, keep);
}

}  // namespace pb
