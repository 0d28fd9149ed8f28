// ToMe, Token Merging (Bolya et al., ICLR 2023) inside the CLIP tower, following the reference
// ModelTC/llmc llmc/compression/token_reduction/tome.py @56afa2d (pruners.md §4.9): in every layer,
// after the attention residual and before the MLP, bipartite soft matching on the head-mean keys
// merges r tokens. As there: no proportional attention, and merge_wavg is called without sizes, so
// each merge is the plain mean of the B token and the A tokens joining it (weights 1, every layer).
#include "pruners/tome.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/vision_stage.h"
#include "spec/model_spec.h"

namespace pb {

TomeMerge tome_merge(const at::Tensor& hidden, const at::Tensor& metric, int64_t r) {
  const int64_t t = hidden.size(0);
  PB_CHECK(metric.dim() == 2 && metric.size(0) == t, "tome: metric must be [T, c]");
  r = std::min(r, (t - 1) / 2);  // the class token is protected; at most half of the rest
  const auto dev = hidden.device();
  if (r <= 0) return {hidden, at::arange(t, at::kLong)};
  const int64_t na = (t + 1) / 2, nb = t / 2;
  const at::Tensor m = metric.to(at::kFloat) / metric.to(at::kFloat).norm(2, -1, true);
  const at::Tensor a = m.slice(0, 0, t, 2), b = m.slice(0, 1, t, 2);
  at::Tensor scores = at::matmul(a, b.t()).to(at::kCPU).to(at::kDouble);  // [na, nb]
  scores[0].fill_(-INFINITY);                                            // CLS never merges
  const auto [node_max, node_idx] = scores.max(1);                       // best B per A
  const at::Tensor best = node_max.contiguous(), partner = node_idx.contiguous();
  // argsort descending; ties to the lower A index (torch.argsort is not stable).
  std::vector<int64_t> edge(static_cast<size_t>(na));
  std::iota(edge.begin(), edge.end(), 0);
  const double* v = best.data_ptr<double>();
  std::stable_sort(edge.begin(), edge.end(), [v](int64_t x, int64_t y) { return v[x] > v[y]; });
  std::vector<int64_t> unm(edge.begin() + r, edge.end());
  std::sort(unm.begin(), unm.end());  // "sort to ensure the class token is at the start"
  const auto n_unm = static_cast<int64_t>(unm.size());
  std::vector<int64_t> target(static_cast<size_t>(t));
  for (int64_t p = 0; p < n_unm; ++p) target[static_cast<size_t>(2 * unm[static_cast<size_t>(p)])] = p;
  for (int64_t j = 0; j < nb; ++j) target[static_cast<size_t>(2 * j + 1)] = n_unm + j;
  const int64_t* dst = partner.data_ptr<int64_t>();
  for (int64_t e = 0; e < r; ++e) {
    const int64_t i = edge[static_cast<size_t>(e)];
    target[static_cast<size_t>(2 * i)] = n_unm + dst[i];
  }
  const at::Tensor target_t = at::tensor(target, at::kLong);
  // merge_wavg with size None: scatter-sum of x (weight 1 each) over scatter-sum of ones.
  at::Tensor sums = at::zeros({n_unm + nb, hidden.size(1)}, hidden.options());
  sums.index_add_(0, target_t.to(dev), hidden);
  const at::Tensor counts = at::bincount(target_t, {}, n_unm + nb).to(hidden.scalar_type()).to(dev);
  return {sums / counts.unsqueeze(1), target_t};
}

namespace {

// The most tokens `layers` layers can remove from `t` rows, each at most (t - 1) // 2.
int64_t max_removable(int64_t t, int64_t layers) {
  int64_t removed = 0;
  for (int64_t i = 0; i < layers; ++i) {
    const int64_t r = (t - 1) / 2;
    removed += r;
    t -= r;
  }
  return removed;
}

}  // namespace

std::vector<int64_t> tome_schedule(int64_t tokens, int64_t remove, int64_t layers) {
  std::vector<int64_t> r(static_cast<size_t>(std::max<int64_t>(layers, 0)), 0);
  int64_t t = tokens, left = remove;
  for (int64_t i = 0; i < layers && left > 0; ++i) {
    const int64_t cap = (t - 1) / 2;
    // An even share, raised only as far as the later layers need to still reach the budget.
    int64_t ri = std::min(cap, (left + (layers - i) - 1) / (layers - i));
    while (ri < cap && left - ri > max_removable(t - ri, layers - i - 1)) ++ri;
    r[static_cast<size_t>(i)] = ri;
    t -= ri;
    left -= ri;
  }
  if (left > 0) {
    throw Error(fmt::format("tome: removing {} of {} tokens needs more than {} tower layers at most half each "
                            "(reachable: {} removed)",
                            remove, tokens, layers, remove - left));
  }
  return r;
}

namespace {

// Runs in the tower: merges by the schedule and follows which original tokens each row holds.
class TomeHook : public VisionLayerHook {
 public:
  std::vector<int64_t> schedule;  // r per tower layer
  at::Tensor first;               // [rows] int64: smallest original tower index in each row's group

  void begin(int64_t tokens) override { first = at::arange(tokens, at::kLong); }
  at::Tensor after_attention(int64_t layer, const at::Tensor& hidden, const at::Tensor& keys) override {
    const int64_t r = static_cast<size_t>(layer) < schedule.size() ? schedule[static_cast<size_t>(layer)] : 0;
    if (r == 0) return {};
    PB_CHECK(hidden.size(0) == 1, "tome: one image at a time");
    const TomeMerge m = tome_merge(hidden.squeeze(0), keys.squeeze(0).mean(0), r);  // metric [T, hd]
    std::vector<int64_t> merged(static_cast<size_t>(m.hidden.size(0)), INT64_MAX);
    const int64_t* to = m.target.data_ptr<int64_t>();
    const int64_t* from = first.data_ptr<int64_t>();
    for (int64_t i = 0; i < first.size(0); ++i) {
      merged[static_cast<size_t>(to[i])] = std::min(merged[static_cast<size_t>(to[i])], from[i]);
    }
    first = at::tensor(merged, at::kLong);
    return m.hidden.unsqueeze(0);
  }
};

class TomePruner : public Pruner {
 public:
  explicit TomePruner(Budget budget) : budget_(std::move(budget)) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = tome_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    // Layers whose merges reach the features: those before the feature layer (23 of 24 for -2).
    const int64_t layers = feature_attention_layer(cfg, "tome") + 1;
    full_ = cfg.vision_feature_select_strategy == "full";
    const int64_t grid = cfg.vision.image_size / cfg.vision.patch_size;
    n_ = image_tokens_per_image(cfg);
    keep_ = budget_.keep_count(n_);
    hook_.schedule = tome_schedule(grid * grid + 1, n_ - keep_, layers);
    return {{"kept", keep_}, {"of", n_}, {"r_per_layer", hook_.schedule}, {"stage", "inside the vision tower"}};
  }
  int64_t nominal_kept() const override { return keep_; }
  VisionLayerHook* vision_layer_hook() override { return &hook_; }
  VisionStageOutput reduce_before_projector(const VisionStageInput& input) override {
    PB_CHECK(hook_.first.defined(), "tome: the tower ran without the merge hook");
    // Each row stands for the smallest original token it holds (groups are disjoint, so distinct);
    // CLS is never merged and is dropped with its row under "default".
    const at::Tensor kept = full_ ? hook_.first : hook_.first.narrow(0, 1, hook_.first.size(0) - 1) - 1;
    PB_CHECK(kept.size(0) == input.features.size(0), "tome: rows and tracked groups differ");
    return {kept, input.features};
  }

 private:
  Budget budget_;
  bool full_ = false;
  int64_t n_ = 0, keep_ = 0;
  TomeHook hook_;
};

}  // namespace

PrunerInfo tome_info() {
  return {"tome",
          "ToMe bipartite soft matching on head-mean keys inside every CLIP layer before the feature layer",
          "Bolya et al., Token Merging: Your ViT But Faster (ICLR 2023)",
          "ModelTC/llmc llmc/compression/token_reduction/tome.py @56afa2d (reference ToMe-in-CLIP)",
          "reindex",  // merged before the projector: the LLM sees a shorter, contiguous sequence
          {},
          AnyresHandling::kRefused,
          "it merges tokens inside the vision tower, so the tiles lose the 24x24 maps that unpadding "
          "and the newline packing need"};
}

std::unique_ptr<Pruner> make_tome(const PrunerParams&, const Budget& budget) {
  if (budget.kind != Budget::Kind::kTokens && budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("tome: needs --budget tokens:N or keep:R");
  }
  return std::make_unique<TomePruner>(budget);
}

}  // namespace pb
