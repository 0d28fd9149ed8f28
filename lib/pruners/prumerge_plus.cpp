// LLaVA-PruMerge+ (Shang et al., arXiv 2403.15388), following 42Shawn/LLaVA-PruMerge
// llava/model/multimodal_encoder/clip_encoder.py (`token_prune_merge_advanced_plus`, the repo's
// default) @097c041 (pruners.md §4.8): the CLS row of one full-width attention computed from the
// q/k projections of CLIP's LAST layer (layers[23], fed the feature layer -2's output), IQR
// outliers plus spatially uniform samples, then each kept patch absorbs its 32 most key-similar
// patches weighted by CLS attention, and one extra token sums the patches not kept.
#include "pruners/prumerge_plus.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "pruners/vision_stage.h"
#include "spec/model_spec.h"

namespace pb {

at::Tensor prumerge_cls_attention(const at::Tensor& q, const at::Tensor& k) {
  PB_CHECK(q.dim() == 2 && q.sizes() == k.sizes(), "prumerge_plus: q and k must be [1+P, D]");
  // clip_encoder.py scales by C ** -0.5 with C the feature width (1024 for CLIP-L): one pseudo-head.
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(1)));
  const at::Tensor logits = at::matmul(q.select(0, 0).to(at::kFloat), k.to(at::kFloat).t()) * scale;  // [1+P]
  return at::softmax(logits, 0).narrow(0, 1, q.size(0) - 1);  // [P]: attn[:, 0, 1:]
}

namespace {

// numpy.percentile's default ("linear"): v[floor(h)] + (h - floor(h)) (v[floor(h)+1] - v[floor(h)]),
// h = q (n - 1), over the sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).to(at::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Indices of the k highest (descending, ties to the lower index): torch.topk's sorted order.
std::vector<int64_t> top_k_descending(const std::vector<double>& v, int64_t k) {
  std::vector<int64_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&v](int64_t a, int64_t b) {
    const double x = v[static_cast<size_t>(a)], y = v[static_cast<size_t>(b)];
    return x > y || (x == y && a < b);
  });
  order.resize(static_cast<size_t>(k));
  return order;
}

}  // namespace

int64_t prumerge_outlier_count(const at::Tensor& cls_attention) {
  // The official code takes the fp32 values through numpy; the quartiles here are in double.
  std::vector<double> v = to_vector(cls_attention);
  PB_CHECK(!v.empty(), "prumerge_plus: empty attention");
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const double q1 = percentile(sorted, 0.25), q3 = percentile(sorted, 0.75);
  const double upper = q3 + 1.5 * (q3 - q1);  // Tukey's fence; only the upper side is used
  return std::count_if(v.begin(), v.end(), [upper](double x) { return x > upper; });
}

at::Tensor prumerge_plus_select(const at::Tensor& cls_attention) {
  const std::vector<double> v = to_vector(cls_attention);
  const auto n = static_cast<int64_t>(v.size());
  const int64_t outliers = prumerge_outlier_count(cls_attention);
  if (outliers == 0) {
    throw Error("prumerge_plus: no CLS-attention outlier (ratio 0; the official code divides by it)");
  }
  // Python floats: ratio = outliers / N, topk count int(N * ratio), step_length = int(1 / ratio).
  const double ratio = static_cast<double>(outliers) / static_cast<double>(n);
  const auto count = static_cast<int64_t>(static_cast<double>(n) * ratio);
  std::vector<int64_t> kept = top_k_descending(v, count);
  const auto step_length = static_cast<int64_t>(1.0 / ratio);
  const int64_t stride = step_length / 3;  // int(step_length / 3)
  if (stride == 0) {
    throw Error(fmt::format("prumerge_plus: {} of {} patches are outliers; the sampling stride int(int(1/ratio)/3) "
                            "is 0 (the official torch.arange fails there)",
                            outliers, n));
  }
  std::vector<bool> taken(static_cast<size_t>(n), false);
  for (int64_t i : kept) taken[static_cast<size_t>(i)] = true;
  // torch.arange(0, 575, ...) for 576 patches: the last patch is never a sample.
  for (int64_t i = 0; i < n - 1; i += stride) {
    if (!taken[static_cast<size_t>(i)]) kept.push_back(i);
  }
  return at::tensor(kept, at::kLong);
}

at::Tensor prumerge_merge(const at::Tensor& features, const at::Tensor& keys, const at::Tensor& cls_attention,
                          const at::Tensor& kept, int64_t neighbours) {
  const int64_t p = features.size(0), k = kept.size(0), d = features.size(1);
  PB_CHECK(keys.dim() == 2 && keys.size(0) == p && cls_attention.numel() == p, "prumerge_plus: shapes differ");
  if (neighbours > p - 1) {
    throw Error(fmt::format("prumerge_plus: {} neighbours asked for among {} other patches", neighbours, p - 1));
  }
  const auto dev = features.device();
  const at::Tensor kept_dev = kept.to(dev);
  // F.normalize(p=2): x / max(|x|, 1e-12); cosine similarity of every kept patch to every patch.
  const at::Tensor normed = keys / keys.norm(2, -1, true).clamp_min(1e-12);  // [P, D]
  at::Tensor sim = at::matmul(normed.index_select(0, kept_dev), normed.t()).to(at::kCPU).to(at::kDouble);  // [k, P]
  sim.scatter_(1, kept.to(at::kCPU).unsqueeze(1), -INFINITY);  // a kept patch is not its own neighbour
  // The `neighbours` most similar per kept patch; ties to the lower patch index (torch.topk's are unspecified).
  std::vector<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(k * neighbours));
  const at::Tensor sim_c = sim.contiguous();
  for (int64_t i = 0; i < k; ++i) {
    const double* row = sim_c.data_ptr<double>() + i * p;
    const std::vector<int64_t> top = top_k_descending(std::vector<double>(row, row + p), neighbours);
    chosen.insert(chosen.end(), top.begin(), top.end());
  }
  const at::Tensor chosen_t = at::tensor(chosen, at::kLong).to(dev);                       // [k * n]
  const at::Tensor weights = cls_attention.to(dev).to(features.scalar_type());             // [P]
  const at::Tensor members = features.index_select(0, chosen_t).view({k, neighbours, d});  // [k, n, D]
  const at::Tensor pulled = (members * weights.index_select(0, chosen_t).view({k, neighbours, 1})).sum(1);
  // updated centre = own features + sum(neighbour * attention), NOT divided by the weights' sum
  // (the division is commented out in clip_encoder.py).
  const at::Tensor centres = features.index_select(0, kept_dev) + pulled;  // [k, D]
  at::Tensor is_kept = at::zeros({p}, at::TensorOptions().dtype(at::kBool).device(dev));
  is_kept.index_fill_(0, kept_dev, true);
  const at::Tensor rest = at::nonzero(is_kept.logical_not()).flatten();  // [P - k]
  const at::Tensor extra = (features.index_select(0, rest) * weights.index_select(0, rest).unsqueeze(1)).sum(0, true);
  return at::cat({centres, extra}, 0);  // [k + 1, D]
}

namespace {

class PrumergePlusPruner : public Pruner {
 public:
  PrumergePlusPruner(Budget budget, int64_t neighbours) : budget_(std::move(budget)), neighbours_(neighbours) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = prumerge_plus_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    if (cfg.vision_feature_select_strategy == "full") {
      throw Error("prumerge_plus: vision_feature_select_strategy 'full' is not supported: PruMerge+ merges the patch "
                  "features (feature_select 'patch')");
    }
    feature_layer_ = feature_attention_layer(cfg, "prumerge_plus");
    // clip_encoder.py hooks layers[23], CLIP-L's last layer, whose input is hidden_states[23]: the
    // feature layer -2's output. The q/k come from the tower's last layer fed the feature rows.
    qk_layer_ = cfg.vision.num_hidden_layers - 1;
    if (qk_layer_ != feature_layer_ + 1) {
      throw Error(fmt::format("prumerge_plus: needs vision_feature_layer -2 (the last layer's input is the feature "
                              "layer), the config selects hidden state {}",
                              feature_layer_ + 1));
    }
    n_ = image_tokens_per_image(cfg);
    nlohmann::json out = {{"of", n_}, {"qk_layer", qk_layer_}, {"neighbours", neighbours_},
                          {"stage", "before projector"}};
    if (budget_.kind == Budget::Kind::kDefault) {
      out["kept"] = "adaptive: IQR outliers + spatial samples + 1 extra token, per image";
      keep_ = 0;
    } else {
      keep_ = budget_.keep_count(n_);
      if (keep_ < 2) throw Error(fmt::format("prumerge_plus: --budget {} must keep at least 2 tokens", budget_.text));
      out["kept"] = keep_;
      out["fixed_count"] = fmt::format("top {} CLS-attention patches + 1 extra token (no IQR, no sampling)", keep_ - 1);
    }
    return out;
  }
  // 0 under the default budget: the count is chosen per image.
  int64_t nominal_kept() const override { return keep_; }
  std::set<int64_t> vision_qk_layers() const override { return {qk_layer_}; }
  VisionStageOutput reduce_before_projector(const VisionStageInput& input) override {
    const auto l = static_cast<size_t>(qk_layer_);
    PB_CHECK(input.qk != nullptr && l < input.qk->size() && (*input.qk)[l].first.defined(),
             "prumerge_plus: the last layer's q/k were not computed");
    PB_CHECK(input.features.size(0) == n_, "prumerge_plus: visual token count differs from the resolved one");
    const auto& [q, k] = (*input.qk)[l];  // [1+P, Dv] each
    const at::Tensor cls_attention = prumerge_cls_attention(q, k);  // [P]
    const at::Tensor kept = keep_ == 0 ? prumerge_plus_select(cls_attention)
                                       : at::tensor(top_k_descending(to_vector(cls_attention), keep_ - 1), at::kLong);
    const at::Tensor features = prumerge_merge(input.features, k.narrow(0, 1, n_), cls_attention, kept, neighbours_);
    // Rows in the official order; the extra row records the smallest patch index not kept.
    return {at::cat({kept, at::full({1}, smallest_unused_index(kept, n_), at::kLong)}), features};
  }

 private:
  Budget budget_;
  int64_t neighbours_;
  int64_t feature_layer_ = 0, qk_layer_ = 0, n_ = 0, keep_ = 0;
};

}  // namespace

PrunerInfo prumerge_plus_info() {
  return {"prumerge_plus",
          "CLS-attention IQR outliers of CLIP's last layer + spatial samples, each merging its 32 most "
          "key-similar patches; + 1 token summing the rest (adaptive count)",
          "Shang et al., LLaVA-PruMerge: Adaptive Token Reduction for Efficient Large Multimodal Models (arXiv "
          "2403.15388)",
          "42Shawn/LLaVA-PruMerge llava/model/multimodal_encoder/clip_encoder.py "
          "(token_prune_merge_advanced_plus) @097c041",
          "reindex",  // chosen before the projector: the LLM sees a shorter, contiguous sequence
          {{"neighbours", "32", "patches merged into each kept one (clip_encoder.py: topk k=32)"}},
          AnyresHandling::kRefused,
          "it merges patches of a single 24x24 grid; merged rows have no single place in the packed "
          "layout"};
}

std::unique_ptr<Pruner> make_prumerge_plus(const PrunerParams& params, const Budget& budget) {
  if (budget.kind != Budget::Kind::kDefault && budget.kind != Budget::Kind::kTokens &&
      budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("prumerge_plus: chooses its own count (default budget); tokens:N / keep:R fix it instead");
  }
  const int64_t neighbours = int_param("prumerge_plus", params, "neighbours", 32);
  if (neighbours < 1) throw Error(fmt::format("prumerge_plus: neighbours={} must be >= 1", neighbours));
  return std::make_unique<PrumergePlusPruner>(budget, neighbours);
}

}  // namespace pb
