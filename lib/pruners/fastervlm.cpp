// FasterVLM, [CLS] attention as the importance of visual tokens (Zhang et al., arXiv 2412.01818),
// following Theia-4869/FasterVLM llava/model/multimodal_encoder/clip_encoder.py and
// llava/model/llava_arch.py @f5d5f12 (pruners.md §4.5): the CLS query's attention to the patches at
// the feature layer (-2), averaged over heads; the top-k patches are kept in raster order.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "pruners/vision_stage.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

class FastervlmPruner : public Pruner {
 public:
  explicit FastervlmPruner(Budget budget) : budget_(std::move(budget)) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = fastervlm_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override {
    if (cfg.vision_feature_select_strategy == "full") {
      throw Error("fastervlm: vision_feature_select_strategy 'full' is not supported: FasterVLM ranks the patch "
                  "tokens by CLS attention and feeds patches only");
    }
    layer_ = feature_attention_layer(cfg, "fastervlm");
    n_ = image_tokens_per_image(cfg);
    keep_ = budget_.keep_count(n_);
    return {{"kept", keep_}, {"of", n_}, {"attention_layer", layer_}, {"stage", "before projector"}};
  }
  int64_t nominal_kept() const override { return keep_; }
  std::set<int64_t> vision_attention_layers() const override { return {layer_}; }
  at::Tensor select_before_projector(const VisionStageInput& input) override {
    PB_CHECK(static_cast<size_t>(layer_) < input.attentions.size() &&
                 input.attentions[static_cast<size_t>(layer_)].defined(),
             "fastervlm: the feature layer's attention was not recorded");
    const at::Tensor& attention = input.attentions[static_cast<size_t>(layer_)];  // [H, 1+P, 1+P] fp32
    PB_CHECK(attention.size(1) == n_ + 1 && input.features.size(0) == n_,
             "fastervlm: visual token count differs from the resolved one");
    // clip_encoder.py: attentions[select_layer][:, :, 0, 1:] averaged over heads.
    const at::Tensor scores = attention.select(1, 0).narrow(1, 1, n_).mean(0);  // [P]
    return top_k_indices(scores, keep_);
  }

 private:
  Budget budget_;
  int64_t layer_ = 0, n_ = 0, keep_ = 0;
};

}  // namespace

PrunerInfo fastervlm_info() {
  return {"fastervlm",
          "Keep the patches the CLS token attends to most at the CLIP feature layer (head mean)",
          "Zhang et al., [CLS] Attention is All You Need for Training-Free Visual Token Pruning (arXiv 2412.01818)",
          "Theia-4869/FasterVLM llava/model/multimodal_encoder/clip_encoder.py, llava/model/llava_arch.py @f5d5f12",
          "reindex",  // chosen before the projector: the LLM sees a shorter, contiguous sequence
          {},
          AnyresHandling::kRefused,
          "it ranks by the [CLS] attention of a single 24x24 image; its LLaVA-NeXT reading (per crop "
          "or over the packed span) is not reproduced"};
}

std::unique_ptr<Pruner> make_fastervlm(const PrunerParams&, const Budget& budget) {
  if (budget.kind != Budget::Kind::kTokens && budget.kind != Budget::Kind::kKeepRatio) {
    throw Error("fastervlm: needs --budget tokens:N or keep:R");
  }
  return std::make_unique<FastervlmPruner>(budget);
}

}  // namespace pb
