// SparseVLM (Zhang et al., ICML 2025, arXiv 2410.04417), as Gumpest/SparseVLMs does it
// (llava/model/language_model/modelling_sparse_llama.py, score.py, utils.py):
//   - before layer 0, text raters are chosen from the LLM input embeddings;
//   - pruning layer l runs on every row (its KV cache keeps them all); from its head-mean attention
//     of the rater rows over the image columns, the image tokens with the highest column mean are
//     kept: v1.5 (main) a fixed count per layer, v1 (commit b72c5d6) int(rank * scale + bias);
//   - of the dropped tokens, the top 30% (+1) by the same score are clustered with DPC-kNN into
//     int(n/10)+1 groups, averaged, and inserted right after the kept image tokens;
//   - position ids are truncated to the new length (re-indexed 0..T'-1).
#include "pruners/sparsevlm.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "flops/schedule.h"
#include "pruners/layer_list.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

std::vector<int64_t> sparsevlm_v15_schedule(int64_t budget) {
  // score.py sparse_token_list_{192,128,96,64} (the non-V2_0 branch).
  switch (budget) {
    case 192: return {300, 200, 110};
    case 128: return {303, 110, 36};
    case 96: return {238, 48, 26};
    case 64: return {66, 30, 17};
    default:
      throw Error(fmt::format("sparsevlm: version 1.5 has schedules for 192, 128, 96 and 64 tokens, not {}", budget));
  }
}

SparsevlmScaleBias sparsevlm_v1_scale_bias(int64_t budget) {
  // README of commit b72c5d6 (scale/bias per retained-token setting).
  switch (budget) {
    case 192: return {13.5, 0.0};
    case 128: return {9.0, 6.0};
    case 64: return {0.8, 0.0};
    default:
      throw Error(fmt::format("sparsevlm: version 1 has scale/bias for 192, 128 and 64 tokens, not {}", budget));
  }
}

at::Tensor sparsevlm_raters(const at::Tensor& image, const at::Tensor& text) {
  // [V, Tt] -> softmax over text -> mean over image rows: [Tt] fp32.
  const at::Tensor m = at::softmax(at::matmul(image.to(at::kFloat), text.to(at::kFloat).t()), 1).mean(0);
  return at::nonzero(m > m.mean()).reshape({-1}).to(at::kCPU);
}

int64_t sparsevlm_recycled(int64_t pruned) { return static_cast<int64_t>(static_cast<double>(pruned) * 0.3) + 1; }
int64_t sparsevlm_cluster_num(int64_t n) { return n / 10 + 1; }

namespace {

// Indices of the k highest scores in descending score order (ties: lower index first).
std::vector<int64_t> top_k_by_score(const at::Tensor& scores, int64_t k) {
  const at::Tensor s = scores.detach().to(at::kCPU).to(at::kDouble).contiguous();
  const double* v = s.data_ptr<double>();
  std::vector<int64_t> order(static_cast<size_t>(s.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [v](int64_t a, int64_t b) { return v[a] > v[b]; });
  order.resize(static_cast<size_t>(k));
  return order;
}

}  // namespace

at::Tensor sparsevlm_cluster_and_merge(const at::Tensor& x, int64_t clusters, at::Tensor* assignment) {
  const int64_t n = x.size(0), c = x.size(1);
  PB_CHECK(clusters >= 1 && clusters <= n, "sparsevlm: cluster count out of range");
  const at::Tensor xf = x.to(at::kFloat).to(at::kCPU).contiguous();  // [N, C] fp32
  // Pairwise Euclidean distance / sqrt(C), computed directly (compute_mode 2: no matmul shortcut).
  const at::Tensor dist = at::cdist(xf, xf, 2.0, 2) / std::sqrt(static_cast<double>(c));  // [N, N]
  // Local density from the `clusters` nearest (self included): exp(-mean squared distance).
  const at::Tensor nearest = std::get<0>(at::topk(dist, clusters, -1, /*largest=*/false));
  const at::Tensor density = at::exp(-(nearest * nearest).mean(-1));  // [N]
  const auto* d = dist.data_ptr<float>();
  const at::Tensor dens = density.contiguous();
  const auto* rho = dens.data_ptr<float>();
  const float dist_max = dist.max().item<float>();
  // Distance to the nearest row of higher density (the official code adds U[0, 1e-6) noise to the
  // density to break ties; here an equal density counts as higher for the lower index).
  std::vector<double> score(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float best = dist_max;
    for (int64_t j = 0; j < n; ++j) {
      const bool higher = rho[j] > rho[i] || (rho[j] == rho[i] && j < i);
      if (higher) best = std::min(best, d[i * n + j]);
    }
    score[static_cast<size_t>(i)] = static_cast<double>(best) * static_cast<double>(rho[i]);
  }
  const std::vector<int64_t> centers = top_k_by_score(at::tensor(score, at::kDouble), clusters);
  // Each row joins its nearest center (first center on ties); a center joins itself.
  std::vector<int64_t> cluster(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < clusters; ++k) {
      if (d[centers[static_cast<size_t>(k)] * n + i] < d[centers[static_cast<size_t>(best)] * n + i]) best = k;
    }
    cluster[static_cast<size_t>(i)] = best;
  }
  for (int64_t k = 0; k < clusters; ++k) cluster[static_cast<size_t>(centers[static_cast<size_t>(k)])] = k;
  const at::Tensor idx = at::tensor(cluster, at::kLong);  // [N]
  // Average: sum / (count + 1e-6), as cluster_and_merge's norm_weight does.
  const at::Tensor counts = at::zeros({clusters}, at::kFloat).index_add_(0, idx, at::ones({n}, at::kFloat));
  const at::Tensor sums = at::zeros({clusters, c}, at::kFloat).index_add_(0, idx, xf);
  if (assignment != nullptr) *assignment = idx;
  return (sums / (counts + 1e-6).unsqueeze(1)).to(x.scalar_type()).to(x.device());  // [clusters, C]
}

namespace {

class SparsevlmObserver : public PrefillObserver {
 public:
  SparsevlmObserver(std::vector<int64_t> layers, std::vector<int64_t> counts, bool rank_adaptive,
                    SparsevlmScaleBias scale_bias)
      : layers_(std::move(layers)), counts_(std::move(counts)), rank_adaptive_(rank_adaptive),
        scale_bias_(scale_bias) {}

  void before_layers(SequenceState& state) override {
    const int64_t text_begin = state.image_begin + state.image_len;
    raters_ = sparsevlm_raters(state.hidden.narrow(0, state.image_begin, state.image_len),
                               state.hidden.narrow(0, text_begin, state.hidden.size(0) - text_begin));
  }
  bool wants_attention(int64_t layer) const override { return stage_of(layer) >= 0; }

  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& attention) override {
    const int64_t stage = stage_of(layer), v = state.image_len;
    if (stage < 0 || v == 0 || raters_.numel() == 0) return;
    const int64_t text_begin = state.image_begin + v;
    // [H, T, T] -> head mean, rater rows, image columns: [r, v] fp32.
    const at::Tensor relation = attention.mean(0)
                                    .index_select(0, (raters_ + text_begin).to(attention.device()))
                                    .narrow(1, state.image_begin, v);
    int64_t keep = 0;
    if (rank_adaptive_) {
      const int64_t rank = at::linalg_matrix_rank(relation.to(at::kFloat)).item<int64_t>();
      if (rank == v) return;  // s_flag False: the layer keeps every token
      keep = std::min(static_cast<int64_t>(static_cast<double>(rank) * scale_bias_.scale + scale_bias_.bias), v - 1);
    } else {
      keep = std::min(counts_[static_cast<size_t>(stage)], v - 1);
    }
    const at::Tensor score = relation.mean(0);  // [v]
    const at::Tensor kept = top_k_indices(score, keep);
    const at::Tensor rows = rows_keeping_visual(state.hidden.size(0), state.image_begin, v, kept);
    std::vector<int64_t> pruned;
    std::vector<bool> is_kept(static_cast<size_t>(v), false);
    for (int64_t i = 0; i < kept.numel(); ++i) is_kept[static_cast<size_t>(kept[i].item<int64_t>())] = true;
    for (int64_t i = 0; i < v; ++i) {
      if (!is_kept[static_cast<size_t>(i)]) pruned.push_back(i);
    }
    if (pruned.empty()) {
      state.keep_rows(rows);
    } else {
      // Recycle the best 30% (+1) of the dropped tokens, taken in descending score order.
      const at::Tensor pruned_t = at::tensor(pruned, at::kLong);
      const std::vector<int64_t> order =
          top_k_by_score(score.to(at::kCPU).index_select(0, pruned_t), sparsevlm_recycled(v - keep));
      std::vector<int64_t> recycle_rows;
      for (int64_t o : order) recycle_rows.push_back(state.image_begin + pruned[static_cast<size_t>(o)]);
      const at::Tensor tokens = state.hidden.index_select(0, at::tensor(recycle_rows, at::kLong).to(state.hidden.device()));
      const at::Tensor merged = sparsevlm_cluster_and_merge(tokens, sparsevlm_cluster_num(tokens.size(0)));
      state.keep_rows_and_insert_visual(rows, merged);
    }
    state.reindex_positions();
  }

 private:
  int64_t stage_of(int64_t layer) const {
    const auto it = std::find(layers_.begin(), layers_.end(), layer);
    return it == layers_.end() ? -1 : static_cast<int64_t>(it - layers_.begin());
  }
  std::vector<int64_t> layers_, counts_;
  bool rank_adaptive_;
  SparsevlmScaleBias scale_bias_;
  at::Tensor raters_;  // [r] int64: rater offsets from the first text row
};

class SparsevlmPruner : public Pruner {
 public:
  SparsevlmPruner(Budget budget, std::string version, std::vector<int64_t> layers)
      : budget_(std::move(budget)), version_(std::move(version)), layers_(std::move(layers)) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = sparsevlm_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    const int64_t n = image_tokens_per_image(cfg), depth = cfg.text.num_hidden_layers;
    check_layers_inside("sparsevlm", layers_, depth);
    int64_t budget = 192;  // RETAIN_TOKN defaults to 192 (score.py), scale 13.5 / bias 0 in v1
    if (budget_.kind == Budget::Kind::kTokens) {
      budget = budget_.tokens;
    } else if (budget_.kind != Budget::Kind::kDefault) {
      throw Error("sparsevlm: only tokens:N budgets name its published settings (192/128/96/64)");
    }
    nlohmann::json out = {{"version", version_}, {"layers", layers_}, {"budget", budget}, {"of", n}};
    if (version_ == "1") {
      const SparsevlmScaleBias sb = sparsevlm_v1_scale_bias(budget);
      observer_ = std::make_unique<SparsevlmObserver>(layers_, std::vector<int64_t>{}, true, sb);
      // The counts depend on each sample's attention rank: no schedule to resolve. The nominal
      // count is the README's setting name.
      kept_ = budget;
      out["scale"] = sb.scale;
      out["bias"] = sb.bias;
      out["kept"] = kept_;
      return out;
    }
    const std::vector<int64_t> counts = sparsevlm_v15_schedule(budget);
    if (counts.size() != layers_.size()) {
      throw Error(fmt::format("sparsevlm: {} pruning layers given for a {}-step schedule", layers_.size(), counts.size()));
    }
    observer_ = std::make_unique<SparsevlmObserver>(layers_, counts, false, SparsevlmScaleBias{0, 0});
    // Visual rows entering each layer: after pruning layer l, min(count, v-1) kept plus the
    // recycled cluster tokens of the dropped ones.
    std::vector<LayerTokens> s;
    int64_t v = n;
    std::vector<int64_t> after;
    for (int64_t l = 0; l < depth; ++l) {
      s.push_back({v, v});
      const auto it = std::find(layers_.begin(), layers_.end(), l);
      if (it != layers_.end() && v > 0) {
        const int64_t keep = std::min(counts[static_cast<size_t>(it - layers_.begin())], v - 1);
        v = keep + (v > keep ? sparsevlm_cluster_num(sparsevlm_recycled(v - keep)) : 0);
        after.push_back(v);
      }
    }
    kept_ = s.back().in;
    out["schedule"] = counts;
    out["visual_after_pruning_layers"] = after;
    out["kept"] = kept_;
    out["visual_tokens_per_layer"] = schedule_to_json(s);
    return out;
  }
  int64_t nominal_kept() const override { return kept_; }
  PrefillObserver* llm_observer() override { return observer_.get(); }

 private:
  Budget budget_;
  std::string version_;
  std::vector<int64_t> layers_;
  int64_t kept_ = 0;
  std::unique_ptr<SparsevlmObserver> observer_;
};

}  // namespace

PrunerInfo sparsevlm_info() {
  return {"sparsevlm",
          "SparseVLM: text raters' attention ranks image tokens at a few layers; dropped ones are partly "
          "recycled as DPC-kNN cluster means",
          "Zhang et al., SparseVLM: Visual Token Sparsification for Efficient Vision-Language Model "
          "Inference, ICML 2025 (arXiv 2410.04417)",
          "Gumpest/SparseVLMs@26a5f48 (v1.5) / @b72c5d6 (v1) llava/model/language_model/"
          "modelling_sparse_llama.py, score.py, utils.py",
          "reindex",
          {{"version", "1.5", "1.5: fixed schedules (main); 1: rank-adaptive int(rank*scale+bias) (b72c5d6)"},
           {"layers", "", "pruning layers (default 2/6/15 for 1.5, 2/6/15/19 for 1), each pruned after it runs"}},
          AnyresHandling::kRefused,
          "its settings (the 192/128/96/64 budgets, v1's scale and bias, v1.5's per-layer counts) "
          "were fitted for 576-token LLaVA-1.5 images"};
}

std::unique_ptr<Pruner> make_sparsevlm(const PrunerParams& params, const Budget& budget) {
  const std::string version = string_param("sparsevlm", params, "version", "1.5");
  if (version != "1.5" && version != "1") {
    throw Error(fmt::format("sparsevlm: version='{}' must be 1.5 or 1", version));
  }
  // pruning_loc: [2, 6, 15] on main, [2, 6, 15, 19] at b72c5d6 (LlamaModel __init__).
  const std::string layers = version == "1" ? "2/6/15/19" : "2/6/15";
  return std::make_unique<SparsevlmPruner>(budget, version, layer_list_param("sparsevlm", params, "layers", layers));
}

}  // namespace pb
