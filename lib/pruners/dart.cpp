// DART (Wen et al., EMNLP 2025, arXiv 2502.11494), as xqy1111111/DART (a fork identical to
// ZichenWen1/DART's README) does it in llava/model/language_model/modeling_llama_self.py
// (get_retained_image_token): before layer K, pivots are the image and text tokens whose layer K-1
// keys (post-RoPE, heads concatenated) have the largest L1 norm; each pivot claims the
// max_num_trunction // (pivots) still-unclaimed image tokens least cosine-similar to it on layer K-1's
// output through the final RMSNorm. Kept: the image pivots and every claimed token, original positions.
#include "pruners/dart.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "flops/schedule.h"
#include "models/kv_cache.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

std::vector<int64_t> as_vector(const at::Tensor& indices) {  // [k] int64 -> host vector
  const at::Tensor c = indices.to(at::kCPU).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

DartSelection dart_select(const at::Tensor& keys, const at::Tensor& normed, int64_t begin, int64_t len,
                          int64_t pivot_image, int64_t pivot_text, int64_t per_pivot) {
  const int64_t t = keys.size(0), text_len = t - begin - len;
  PB_CHECK(normed.size(0) == t, "dart: keys and hidden rows differ");
  const at::Tensor l1 = keys.to(at::kFloat).abs().sum(-1);  // [T] fp32: torch.norm(p=1) per row
  DartSelection out;
  out.image_pivots = top_k_indices(l1.narrow(0, begin, len), std::min(pivot_image, len));
  out.text_pivots = top_k_indices(l1.narrow(0, begin + len, text_len), std::min(pivot_text, text_len));
  // Pivot rows in ascending order (the official code iterates a Python set; see docs/pruners.md).
  const std::vector<int64_t> image_pivots = as_vector(out.image_pivots), text_pivots = as_vector(out.text_pivots);
  std::vector<int64_t> pivots;
  for (int64_t i : image_pivots) pivots.push_back(begin + i);
  for (int64_t i : text_pivots) pivots.push_back(begin + len + i);
  std::vector<bool> kept(static_cast<size_t>(len), false);
  for (int64_t i : image_pivots) kept[static_cast<size_t>(i)] = true;
  const at::Tensor h = normed.to(at::kFloat);  // [T, D] fp32
  for (int64_t pivot : pivots) {
    std::vector<int64_t> candidates;  // image indices not yet claimed, ascending
    for (int64_t i = 0; i < len; ++i) {
      if (!kept[static_cast<size_t>(i)]) candidates.push_back(i);
    }
    if (candidates.empty()) break;
    const at::Tensor cand = at::tensor(candidates, at::kLong);
    const at::Tensor rows = h.narrow(0, begin, len).index_select(0, cand.to(h.device()));  // [c, D]
    const at::Tensor similarity = at::cosine_similarity(h.narrow(0, pivot, 1), rows, 1);  // [c]
    // Lowest similarity first: top-k of the negated similarity.
    const at::Tensor chosen = top_k_indices(-similarity, std::min<int64_t>(per_pivot, cand.size(0)));
    for (int64_t j : as_vector(chosen)) kept[static_cast<size_t>(candidates[static_cast<size_t>(j)])] = true;
  }
  std::vector<int64_t> kept_list;
  for (int64_t i = 0; i < len; ++i) {
    if (kept[static_cast<size_t>(i)]) kept_list.push_back(i);
  }
  out.kept = at::tensor(kept_list, at::kLong);
  return out;
}

namespace {

class DartObserver : public PrefillObserver {
 public:
  DartObserver(int64_t k, int64_t pivot_image, int64_t pivot_text, int64_t per_pivot)
      : k_(k), pivot_image_(pivot_image), pivot_text_(pivot_text), per_pivot_(per_pivot) {}
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& /*attention*/) override {
    if (layer != k_ - 1 || state.image_len == 0) return;
    const int64_t t = state.hidden.size(0);
    const at::Tensor cached = state.cache->keys(layer);  // [Hkv, len, hd] post-RoPE
    PB_CHECK(cached.size(1) == t, "dart: layer K-1's cache must hold exactly the current rows");
    const at::Tensor keys = cached.transpose(0, 1).reshape({t, -1});  // [T, Hkv*hd]
    const at::Tensor normed = state.probe->final_norm(state.hidden);  // [T, D]
    const DartSelection s =
        dart_select(keys, normed, state.image_begin, state.image_len, pivot_image_, pivot_text_, per_pivot_);
    state.keep_rows(rows_keeping_visual(t, state.image_begin, state.image_len, s.kept));
  }

 private:
  int64_t k_, pivot_image_, pivot_text_, per_pivot_;
};

class DartPruner : public Pruner {
 public:
  DartPruner(Budget budget, int64_t k, int64_t pivot_image, int64_t pivot_text, int64_t max_num_trunction)
      : budget_(std::move(budget)), k_(k), pivot_image_(pivot_image), pivot_text_(pivot_text),
        trunction_(max_num_trunction) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = dart_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override { return resolve_for_tokens(cfg, image_tokens_per_image(cfg)); }
  // LLaVA-NeXT resolves again for every image's real visual-token count `n` (the packed span).
  nlohmann::json resolve_for_tokens(const LlavaConfig& cfg, int64_t n) override {
    const int64_t layers = cfg.text.num_hidden_layers;
    if (k_ < 1 || k_ >= layers) {
      throw Error(fmt::format("dart: k={} must be in [1, {}] (pivots use layer k-1's keys)", k_, layers - 1));
    }
    switch (budget_.kind) {
      case Budget::Kind::kDefault:
        break;
      case Budget::Kind::kTokens:
      case Budget::Kind::kKeepRatio:
        // The eval scripts pass the retained budget as --max_num_trunction (128 keeps 132, pruners.md §4.6).
        trunction_ = budget_.keep_count(n);
        break;
      default:
        throw Error("dart: only tokens:N or keep:R budgets (its max_num_trunction) are DART budgets");
    }
    // TOKEN_TOPK = max_num_trunction // (pivot_image_token + pivot_text_token).
    per_pivot_ = trunction_ / (pivot_image_ + pivot_text_);
    kept_ = std::min(n, pivot_image_ + (pivot_image_ + pivot_text_) * per_pivot_);
    observer_ = std::make_unique<DartObserver>(k_, pivot_image_, pivot_text_, per_pivot_);
    std::vector<LayerTokens> s;
    for (int64_t l = 0; l < layers; ++l) {
      const int64_t v = l < k_ ? n : kept_;
      s.push_back({v, v});
    }
    return {{"k", k_},
            {"max_num_trunction", trunction_},
            {"per_pivot", per_pivot_},
            {"pivot_image_token", pivot_image_},
            {"pivot_text_token", pivot_text_},
            {"kept", kept_},
            {"of", n},
            {"visual_tokens_per_layer", schedule_to_json(s)}};
  }
  int64_t nominal_kept() const override { return kept_; }
  PrefillObserver* llm_observer() override { return observer_.get(); }

 private:
  Budget budget_;
  int64_t k_, pivot_image_, pivot_text_, trunction_;
  int64_t per_pivot_ = 0, kept_ = 0;
  std::unique_ptr<DartObserver> observer_;
};

}  // namespace

PrunerInfo dart_info() {
  return {"dart",
          "DART: before layer K keep the image tokens least similar to key-norm pivots (4 image + 4 text), "
          "budget // 8 per pivot, plus the image pivots",
          "Wen et al., Stop Looking for Important Tokens in Multimodal Language Models: Duplication Matters "
          "More, EMNLP 2025 (arXiv 2502.11494)",
          "xqy1111111/DART@d6a5af6 llava/model/language_model/modeling_llama_self.py (get_retained_image_token)",
          "original",
          {{"k", "2", "the first layer to run on the kept tokens (pruned_layer K); pivots use layer K-1"},
           {"pivot_image", "4", "image pivots (pivot_image_token)"},
           {"pivot_text", "4", "text pivots (pivot_text_token)"},
           {"max_num_trunction", "128", "retained budget when no --budget is given (model_vqa_loader.py default)"}},
          AnyresHandling::kPackedSpan,
          "the whole packed span (newlines included) is the image; max_num_trunction (tokens:K) is "
          "kept out of the real count, keep:R is a fraction of it"};
}

std::unique_ptr<Pruner> make_dart(const PrunerParams& params, const Budget& budget) {
  const int64_t pi = int_param("dart", params, "pivot_image", 4), pt = int_param("dart", params, "pivot_text", 4);
  const int64_t trunction = int_param("dart", params, "max_num_trunction", 128);
  if (pi < 0 || pt < 0 || pi + pt == 0) throw Error("dart: pivot_image and pivot_text must be >= 0, not both 0");
  if (trunction < 0) throw Error(fmt::format("dart: max_num_trunction={} must be >= 0", trunction));
  if (budget.kind != Budget::Kind::kDefault && params.count("max_num_trunction") > 0) {
    throw Error("dart: give either max_num_trunction= or --budget, not both");
  }
  return std::make_unique<DartPruner>(budget, int_param("dart", params, "k", 2), pi, pt, trunction);
}

}  // namespace pb
