// VisionZip (Yang et al., CVPR 2025), following dvlab-research/VisionZip visionzip/clip_encoder.py
// (CLIPVisionTower_VisionZip.forward), visionzip/utils.py and visionzip/main.py @3151f6d
// (pruners.md §4.3). At the feature layer (-2): dominant tokens = CLS + the patches with the most
// CLS attention summed over heads; the rest merge into `contextual` tokens, each a uniform-stride
// target plus the mean of the tokens whose head-mean key is most cosine-similar to it. The rows fed
// to the projector are the feature layer's own rows, CLS included, whatever the select strategy.
#include "pruners/visionzip.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "pruners/vision_stage.h"
#include "spec/model_spec.h"

namespace pb {

VisionZipResult visionzip_compress(const at::Tensor& attention, const at::Tensor& tokens, const at::Tensor& keys,
                                   int64_t dominant, int64_t contextual) {
  const int64_t t = tokens.size(0);
  PB_CHECK(attention.dim() == 3 && attention.size(1) == t && attention.size(2) == t,
           "visionzip: attention must be [H, T, T] over the tokens");
  PB_CHECK(keys.dim() == 3 && keys.size(0) == t, "visionzip: keys must be [T, H, hd]");
  PB_CHECK(dominant >= 1 && contextual >= 0 && dominant + contextual <= t, "visionzip: counts out of range");
  const auto dev = tokens.device();
  VisionZipResult r;
  // clip_encoder.py: attn[:, :, 0, 1:].sum(heads), topk(dominant - 1) patches, + CLS (index 0).
  const at::Tensor cls_scores = attention.select(1, 0).narrow(1, 1, t - 1).sum(0);  // [P]
  r.dominant = at::cat({at::zeros({1}, at::kLong), top_k_indices(cls_scores, dominant - 1) + 1});
  at::Tensor is_dominant = at::zeros({t}, at::kBool);
  is_dominant.index_fill_(0, r.dominant, true);
  r.remaining = at::nonzero(is_dominant.logical_not()).flatten();  // [R] ascending
  const at::Tensor dominant_rows = tokens.index_select(0, r.dominant.to(dev));
  if (contextual == 0) {
    r.features = dominant_rows;
    r.targets = at::empty({0}, at::kLong);
    r.assigned = at::empty({0}, at::kLong);
    return r;
  }
  const int64_t n_rem = r.remaining.size(0);
  // step = max(1, R // contextual); the first `contextual` of 0, step, 2 step, ...
  const int64_t step = std::max<int64_t>(1, n_rem / contextual);
  r.targets = at::arange(0, n_rem, step, at::kLong).narrow(0, 0, std::min(contextual, (n_rem + step - 1) / step));
  if (r.targets.size(0) != contextual) {
    throw Error(fmt::format("visionzip: {} remaining tokens cannot hold {} contextual targets", n_rem, contextual));
  }
  at::Tensor is_target = at::zeros({n_rem}, at::kBool);
  is_target.index_fill_(0, r.targets, true);
  const at::Tensor others = at::nonzero(is_target.logical_not()).flatten();  // [R - C] positions into remaining
  // The metric: keys averaged over heads, L2-normalised (utils.py returns raw_key_states.mean(1)).
  const at::Tensor metric = keys.mean(1).index_select(0, r.remaining.to(dev));  // [R, hd]
  const at::Tensor normed = metric / metric.norm(2, -1, true);
  const at::Tensor sim = at::matmul(normed.index_select(0, others.to(dev)),
                                    normed.index_select(0, r.targets.to(dev)).t());  // [R - C, C]
  // Ties: the first target (torch.argmax). No other tokens (R == C): every target stands alone.
  r.assigned = others.size(0) > 0 ? sim.argmax(1).to(at::kCPU) : at::empty({0}, at::kLong);
  const at::Tensor rem_rows = tokens.index_select(0, r.remaining.to(dev));  // [R, D]
  const at::Tensor other_rows = rem_rows.index_select(0, others.to(dev));   // [R - C, D]
  at::Tensor sums = at::zeros({contextual, tokens.size(1)}, tokens.options());
  sums.index_add_(0, r.assigned.to(dev), other_rows);
  const at::Tensor counts = at::bincount(r.assigned, {}, contextual).clamp_min(1).to(tokens.scalar_type()).to(dev);
  // Target hidden PLUS the mean of its members: a sum, not a re-average (clip_encoder.py).
  const at::Tensor contextual_rows = rem_rows.index_select(0, r.targets.to(dev)) + sums / counts.unsqueeze(1);
  r.features = at::cat({dominant_rows, contextual_rows}, 0);
  return r;
}

int64_t visionzip_contextual_for(int64_t tokens) { return (tokens * 5 + 16) / 32; }

namespace {

class VisionzipPruner : public Pruner {
 public:
  VisionzipPruner(Budget budget, int64_t contextual) : budget_(std::move(budget)), contextual_param_(contextual) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = visionzip_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    layer_ = feature_attention_layer(cfg, "visionzip");
    n_ = image_tokens_per_image(cfg);
    full_ = cfg.vision_feature_select_strategy == "full";
    const int64_t tokens = budget_.keep_count(n_);  // N rows to the projector, CLS one of them
    contextual_ = contextual_param_ >= 0 ? contextual_param_ : visionzip_contextual_for(tokens);
    dominant_ = tokens - contextual_;
    if (dominant_ < 1) {
      throw Error(fmt::format("visionzip: --budget {} leaves {} dominant tokens after {} contextual; CLS needs one",
                              budget_.text, dominant_, contextual_));
    }
    return {{"kept", tokens}, {"dominant", dominant_}, {"contextual", contextual_}, {"of", n_},
            {"attention_layer", layer_}, {"stage", "before projector"}};
  }
  int64_t nominal_kept() const override { return dominant_ + contextual_; }
  std::set<int64_t> vision_attention_layers() const override { return {layer_}; }
  std::set<int64_t> vision_qk_layers() const override { return {layer_}; }
  VisionStageOutput reduce_before_projector(const VisionStageInput& input) override {
    const auto l = static_cast<size_t>(layer_);
    PB_CHECK(input.tokens != nullptr && input.qk != nullptr && l < input.qk->size() && (*input.qk)[l].second.defined() &&
                 l < input.attentions.size() && input.attentions[l].defined(),
             "visionzip: the feature layer's attention, keys or rows were not recorded");
    const at::Tensor& tokens = *input.tokens;                 // [1+P, Dv]
    const at::Tensor& attention = input.attentions[l];        // [H, 1+P, 1+P] fp32
    const int64_t heads = attention.size(0);
    const at::Tensor keys = (*input.qk)[l].second.view({tokens.size(0), heads, -1});  // [1+P, H, hd]
    const VisionZipResult r = visionzip_compress(attention, tokens, keys, dominant_, contextual_);
    // Each row's original index: a dominant or target token its own; CLS, under "default" where it is
    // no image token, the smallest patch index no other row uses.
    const at::Tensor token_index =
        at::cat({r.dominant, r.remaining.index_select(0, r.targets)});  // [k] tower token indices
    if (full_) return {token_index, r.features};
    at::Tensor kept = token_index - 1;
    const at::Tensor patches = kept.narrow(0, 1, kept.size(0) - 1);
    kept[0] = smallest_unused_index(patches, n_);
    return {kept, r.features};
  }

 private:
  Budget budget_;
  int64_t contextual_param_;
  bool full_ = false;
  int64_t layer_ = 0, n_ = 0, dominant_ = 0, contextual_ = 0;
};

}  // namespace

PrunerInfo visionzip_info() {
  return {"visionzip",
          "CLS + top CLS-attention patches at the CLIP feature layer, the rest merged by key similarity into "
          "contextual tokens",
          "Yang et al., VisionZip: Longer is Better but Not Necessary in Vision Language Models (CVPR 2025)",
          "dvlab-research/VisionZip visionzip/clip_encoder.py, visionzip/utils.py, visionzip/main.py @3151f6d",
          "reindex",  // chosen before the projector: the LLM sees a shorter, contiguous sequence
          {{"contextual", "auto", "contextual tokens; auto = round(N * 5/32), the published 54+10 / 108+20 / 162+30 "
                                  "split; the rest of N is dominant (CLS included)"}},
          AnyresHandling::kRefused,
          "its per-crop dominant/contextual split for LLaVA-NeXT is not reproduced, and merged "
          "contextual tokens have no place in the packed layout"};
}

std::unique_ptr<Pruner> make_visionzip(const PrunerParams& params, const Budget& budget) {
  if (budget.kind != Budget::Kind::kTokens && budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("visionzip: needs --budget tokens:N or keep:R (N counts CLS, as VisionZip's 64 = 54 + 10 does)");
  }
  const std::string c = string_param("visionzip", params, "contextual", "auto");
  const int64_t contextual = c == "auto" ? -1 : int_param("visionzip", params, "contextual", 0);
  if (c != "auto" && contextual < 0) throw Error(fmt::format("visionzip: contextual={} must be >= 0", contextual));
  return std::make_unique<VisionzipPruner>(budget, contextual);
}

}  // namespace pb
