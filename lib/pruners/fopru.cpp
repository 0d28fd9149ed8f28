// FoPru, Focal Pruning (Jiang et al., arXiv 2411.14164). There is no official code; this follows
// the only public implementation, dongxianzhe/hydrainfer hydrainfer/layer/token_prunning.py
// (`focal_prunning`) as wired in dxz/model/llava.py at fb75c7a (pruners.md §2): significance from
// the vision tower's attention at the feature layer, then top tokens (rank) or top grid rows (row),
// kept in raster order before the projector.
#include "pruners/fopru.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

FopruSignificance fopru_significance(const at::Tensor& attention) {
  PB_CHECK(attention.dim() == 3 && attention.size(1) == attention.size(2) && attention.size(1) > 1,
           "fopru: attention must be [H, 1+P, 1+P]");
  const int64_t p = attention.size(1) - 1;
  // hydrainfer passes scores[:, :, 1:, 1:] (CLS row and column removed) and averages over heads.
  // Its scores are the pre-softmax q.k/sqrt(d) (TorchMultiHeadAttention returns them before the
  // softmax, dxz/layer/attention.py); the tower here exposes only the softmax, from which the
  // logits' row means cannot be recovered. Deviation documented in docs/pruners.md.
  const at::Tensor s = attention.to(at::kFloat).narrow(1, 1, p).narrow(2, 1, p).mean(0);  // [P, P]
  const at::Tensor column = s.mean(0);  // [P] attention each token receives
  const at::Tensor row = s.mean(1);     // [P] each token's attention to the other patches
  // token_prunning.py: `s1 if var(s1) > var(s2) else s2` with s1 the column mean and torch.var's
  // default unbiased estimator; a tie goes to the row mean.
  const bool use_column = at::var(column).item<double>() > at::var(row).item<double>();
  return {use_column ? column : row, use_column};
}

at::Tensor fopru_select(const at::Tensor& scores, FopruStrategy strategy, int64_t count, int64_t grid) {
  PB_CHECK(scores.dim() == 1 && scores.size(0) == grid * grid, "fopru: scores must be [grid*grid]");
  if (strategy == FopruStrategy::kRank) return top_k_indices(scores, count);
  // Row strategy: a grid row's score is the sum of its tokens; whole rows are kept.
  const at::Tensor rows = top_k_indices(scores.reshape({grid, grid}).sum(-1), count);  // [count] ascending
  const at::Tensor cols = at::arange(grid, at::kLong);
  return (rows.unsqueeze(1) * grid + cols.unsqueeze(0)).reshape({-1});  // [count*grid], raster order
}

namespace {

class FopruPruner : public Pruner {
 public:
  FopruPruner(Budget budget, FopruStrategy strategy) : budget_(std::move(budget)), strategy_(strategy) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = fopru_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    if (cfg.vision_feature_select_strategy == "full") {
      throw Error("fopru: vision_feature_select_strategy 'full' (CLS kept as a token) is not supported: FoPru "
                  "removes CLS from the attention map and ranks the patch tokens only");
    }
    if (cfg.vision_feature_layers.size() != 1) {
      throw Error(fmt::format("fopru: needs a single vision_feature_layer (the config lists {})",
                              cfg.vision_feature_layers.size()));
    }
    // hidden_states[i] is the output of encoder layer i-1 (hidden_states[0] = embeddings), so the
    // feature layer's own attention is layer i-1: layer 22 of CLIP-L's 24 for vision_feature_layer -2,
    // as hydrainfer's CLIPEncoder asks for (vision_feature_layer + 24) % 24.
    const int64_t index = vision_hidden_state_index(cfg.vision_feature_layers[0], cfg.vision.num_hidden_layers);
    if (index == 0) {
      throw Error("fopru: vision_feature_layer selects the patch embeddings, which have no attention map");
    }
    layer_ = index - 1;
    grid_ = cfg.vision.image_size / cfg.vision.patch_size;
    n_ = image_tokens_per_image(cfg);
    const int64_t tokens = budget_.keep_count(n_);
    nlohmann::json out = {{"strategy", strategy_ == FopruStrategy::kRank ? "rank" : "row"},
                          {"attention_layer", layer_},
                          {"of", n_},
                          {"stage", "before projector"}};
    if (strategy_ == FopruStrategy::kRank) {
      count_ = tokens;
      keep_ = tokens;
    } else {
      // floor(grid * ratio) rows with ratio = tokens / N, in integers: the whole rows that fit.
      count_ = tokens * grid_ / n_;
      keep_ = count_ * grid_;
      if (count_ == 0) {
        throw Error(fmt::format("fopru: strategy=row keeps whole rows of {} tokens; --budget {} resolves to {} "
                                "tokens, less than one row",
                                grid_, budget_.text, tokens));
      }
      out["rows"] = count_;
    }
    out["kept"] = keep_;
    return out;
  }
  // LLaVA-NeXT: every 576-token tile is one LLaVA-1.5 image to this method, so only a ratio reads the same.
  nlohmann::json resolve_anyres(const LlavaConfig& cfg) override {
    if (budget_.kind == Budget::Kind::kTokens) {
      throw Error(fmt::format("fopru: --budget {} has no LLaVA-NeXT reading: the method runs on each 576-token tile "
                              "separately; use keep:R",
                              budget_.text));
    }
    nlohmann::json out = Pruner::resolve_anyres(cfg);
    out["per_tile"] = true;
    return out;
  }
  int64_t nominal_kept() const override { return keep_; }
  std::set<int64_t> vision_attention_layers() const override { return {layer_}; }
  at::Tensor select_before_projector(const VisionStageInput& input) override {
    if (input.has_cls) throw Error("fopru: features include CLS (strategy 'full'), which FoPru does not support");
    PB_CHECK(static_cast<size_t>(layer_) < input.attentions.size() &&
                 input.attentions[static_cast<size_t>(layer_)].defined(),
             "fopru: the feature layer's attention was not recorded");
    const at::Tensor& attention = input.attentions[static_cast<size_t>(layer_)];  // [H, 1+P, 1+P] fp32
    PB_CHECK(input.features.size(0) == n_ && attention.size(1) == n_ + 1,
             "fopru: visual token count differs from the resolved one");
    const FopruSignificance sig = fopru_significance(attention);
    return fopru_select(sig.scores, strategy_, count_, grid_);
  }

 private:
  Budget budget_;
  FopruStrategy strategy_;
  int64_t layer_ = 0, grid_ = 0, n_ = 0;
  int64_t count_ = 0;  // tokens (rank) or grid rows (row)
  int64_t keep_ = 0;   // visual tokens kept
};

}  // namespace

PrunerInfo fopru_info() {
  return {"fopru",
          "Keep the patches (rank) or grid rows (row) most significant in the CLIP feature layer's attention",
          "Jiang et al., FoPru: Focal Pruning for Efficient Large Vision-Language Models (arXiv 2411.14164)",
          "no official code; dongxianzhe/hydrainfer hydrainfer/layer/token_prunning.py (focal_prunning), "
          "dxz/model/llava.py @fb75c7a",
          "reindex",
          {{"strategy", "rank", "rank: top tokens; row: whole grid rows, floor(grid * kept/N) of them"}},
          AnyresHandling::kPerTile,
          "each 576-token tile ranks its patches by its own feature-layer attention and keeps keep:R "
          "of them (tokens:K is refused); pruned rows are absent from the packed sequence, every image_newline stays"};
}

std::unique_ptr<Pruner> make_fopru(const PrunerParams& params, const Budget& budget) {
  const std::string strategy = string_param("fopru", params, "strategy", "rank");
  if (strategy != "rank" && strategy != "row") {
    throw Error(fmt::format("fopru: strategy='{}' must be rank or row", strategy));
  }
  if (budget.kind != Budget::Kind::kTokens && budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("fopru: needs --budget tokens:N or keep:R");
  }
  return std::make_unique<FopruPruner>(budget, strategy == "rank" ? FopruStrategy::kRank : FopruStrategy::kRow);
}

}  // namespace pb
