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
        ratio_ = keep_ratio_;
        keep_ = ratio_count(keep_ratio_);
        break;
      case Budget::Kind::kKeepRatio:
        ratio_ = budget_.ratio;
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
  // LLaVA-NeXT: the official code's own form, a keep ratio applied to the base tile and to the grid.
  nlohmann::json resolve_anyres(const LlavaConfig& cfg) override {
    if (budget_.kind == Budget::Kind::kTokens) {
      throw Error(fmt::format("gprune: --budget {} has no LLaVA-NeXT reading: G-Prune keeps int(R x 576) of the base "
                              "tile and int(R x rows x cols) of the grid; use keep:R",
                              budget_.text));
    }
    nlohmann::json out = Pruner::resolve_anyres(cfg);
    out["grid_kept"] = fmt::format("int({} x rows x cols), plus one image_newline per row", ratio_);
    return out;
  }
  int64_t nominal_kept() const override { return keep_; }
  // llava_arch.py: the first 576 packed rows (the base tile) and the grid rows without their
  // image_newline are two separate graphs; topk(int(R x 576)) and topk(int(R x rows x cols)) of
  // them, every newline row, sorted.
  at::Tensor select_packed(const at::Tensor& embeds, const std::vector<int64_t>& source) override {
    PB_CHECK(embeds.size(0) == static_cast<int64_t>(source.size()), "gprune: packed rows and sources differ in count");
    std::vector<int64_t> base, grid, newline;
    for (size_t r = 0; r < source.size(); ++r) {
      const int64_t s = source[r];
      (s < 0 ? newline : s < n_ ? base : grid).push_back(static_cast<int64_t>(r));
    }
    PB_CHECK(static_cast<int64_t>(base.size()) == n_, "gprune: the packed image must start with the base tile's rows");
    const auto grid_keep = static_cast<int64_t>(ratio_ * static_cast<double>(grid.size()));  // Python int()
    std::vector<at::Tensor> kept = {top_rows(embeds, base, keep_), at::tensor(newline, at::kLong)};
    if (grid_keep > 0) kept.push_back(top_rows(embeds, grid, grid_keep));
    return std::get<0>(at::cat(kept).sort());
  }
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
  // The `keep` rows of `rows` (packed row indices) with the highest importance in their own graph.
  at::Tensor top_rows(const at::Tensor& embeds, const std::vector<int64_t>& rows, int64_t keep) const {
    const at::Tensor index = at::tensor(rows, at::kLong);  // [n]
    const at::Tensor part = embeds.index_select(0, index.to(embeds.device()));  // [n, D]
    return index.index_select(0, top_k_indices(gprune_scores(part, threshold_, temperature_, steps_).importance, keep).to(at::kCPU));
  }
  Budget budget_;
  double threshold_, temperature_;
  int64_t steps_;
  double keep_ratio_;
  double ratio_ = 0;  // the resolved keep ratio (keep= or keep:R)
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
           {"keep", "0.5", "keep ratio when no --budget is given: int(keep * N) tokens (`keep_ratio`)"}},
          AnyresHandling::kBaseAndGrid,
          "as llava_arch.py does: the base tile keeps int(R * 576), the unpadded grid int(R * rows * "
          "cols), every image_newline is kept, positions stay original; tokens:K is refused"};
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
