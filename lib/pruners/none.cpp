// `none`: keeps every visual token; the unpruned reference every comparison needs.
#include <fmt/format.h>

#include "core/error.h"
#include "pruners/methods.h"
#include "spec/model_spec.h"

namespace pb {

namespace {

class NonePruner : public Pruner {
 public:
  const PrunerInfo& info() const override {
    static const PrunerInfo i = none_info();
    return i;
  }
  nlohmann::json resolve(const LlavaConfig& cfg) override { return resolve_for_tokens(cfg, image_tokens_per_image(cfg)); }
  nlohmann::json resolve_for_tokens(const LlavaConfig&, int64_t visual_tokens) override {
    n_ = visual_tokens;
    return {{"kept", n_}};
  }
  int64_t nominal_kept() const override { return n_; }

 private:
  int64_t n_ = 0;
};

}  // namespace

PrunerInfo none_info() {
  return {"none", "Keep every visual token (the unpruned model)", "-", "-", "original", {},
          AnyresHandling::kPackedSpan,
          "keeps the whole packed span (base, grid, newlines)"};
}

std::unique_ptr<Pruner> make_none(const PrunerParams&, const Budget& budget) {
  if (budget.kind != Budget::Kind::kDefault) {
    throw Error(fmt::format("none: takes no budget (got '{}')", budget.text));
  }
  return std::make_unique<NonePruner>();
}

}  // namespace pb
