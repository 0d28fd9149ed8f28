// VTW, Visual Token Withdrawal (Lin et al., AAAI 2025, arXiv 2405.05803), as lzhxmu/VTW does it
// (llava/model/language_model/VTW.py, pe_type "keep"): layers 0..K-1 run on every token; before
// layer K every visual token is withdrawn, the remaining rows keep their position ids. K comes from
// a KL search on calibration samples in the paper; here it is the parameter k (no calibrate command
// yet, docs/pruners.md).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "core/error.h"
#include "flops/schedule.h"
#include "pruners/methods.h"
#include "pruners/select.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

class VtwObserver : public PrefillObserver {
 public:
  explicit VtwObserver(int64_t k) : k_(k) {}
  void after_layer(int64_t layer, SequenceState& state, const at::Tensor& /*attention*/) override {
    if (layer != k_ - 1 || state.image_len == 0) return;
    state.keep_rows(rows_keeping_visual(state.hidden.size(0), state.image_begin, state.image_len,
                                        at::empty({0}, at::kLong)));
  }

 private:
  int64_t k_;
};

class VtwPruner : public Pruner {
 public:
  VtwPruner(Budget budget, int64_t k) : budget_(std::move(budget)), k_(k) {}
  const PrunerInfo& info() const override {
    static const PrunerInfo i = vtw_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override { return resolve_for_tokens(cfg, image_tokens_per_image(cfg)); }
  // LLaVA-NeXT resolves again for every image's real visual-token count `n` (the packed span).
  nlohmann::json resolve_for_tokens(const LlavaConfig& cfg, int64_t n) override {
    const int64_t layers = cfg.text.num_hidden_layers;
    if (budget_.kind != Budget::Kind::kDefault) {
      throw Error(fmt::format("vtw: --budget {} does not apply; VTW withdraws every visual token at layer k=", budget_.text));
    }
    if (k_ < 1 || k_ > layers) {
      throw Error(fmt::format("vtw: k={} must be in [1, {}] (the first layer without visual tokens)", k_, layers));
    }
    observer_ = std::make_unique<VtwObserver>(k_);
    std::vector<LayerTokens> s;
    for (int64_t l = 0; l < layers; ++l) {
      const int64_t v = l < k_ ? n : 0;
      s.push_back({v, v});
    }
    kept_ = s.back().in;
    return {{"k", k_}, {"kept", kept_}, {"of", n}, {"visual_tokens_per_layer", schedule_to_json(s)}};
  }
  int64_t nominal_kept() const override { return kept_; }
  PrefillObserver* llm_observer() override { return observer_.get(); }

 private:
  Budget budget_;
  int64_t k_;
  int64_t kept_ = 0;
  std::unique_ptr<VtwObserver> observer_;
};

}  // namespace

PrunerInfo vtw_info() {
  return {"vtw",
          "Visual Token Withdrawal: every visual token is removed before layer K",
          "Lin et al., Boosting Multimodal Large Language Models with Visual Tokens Withdrawal for Rapid "
          "Inference, AAAI 2025 (arXiv 2405.05803)",
          "lzhxmu/VTW llava/model/language_model/VTW.py (pe_type keep)",
          "original",
          // lmms-evaluation/lmms_eval/__main__.py defaults k to 16 (VTW.py's temp_cache and the README use 15).
          {{"k", "16", "the first layer run without visual tokens (K)"}},
          AnyresHandling::kPackedSpan,
          "the whole packed span (newlines included) is withdrawn at layer k"};
}

std::unique_ptr<Pruner> make_vtw(const PrunerParams& params, const Budget& budget) {
  return std::make_unique<VtwPruner>(budget, int_param("vtw", params, "k", 16));
}

}  // namespace pb
