// Pruning methods on LLaVA-HR (docs/llava_hr.md, "Pruning methods on HR"): which methods run and the
// one-line reason the others give, at run level and in the pipeline; on the golden tiny HR model each
// running method keeps exactly what it resolved to, as indices into the 1024 visual tokens.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "golden_case.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "pipeline/model_inputs.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"
#include "error_text.h"
#include "test_paths.h"

namespace pb::test {
namespace {

// The specs each running method is exercised with on the 3-layer tiny HR model; "" = refused.
const std::map<std::string, std::pair<std::string, std::string>> kHrSpecs = {
    {"none", {"none", ""}},
    {"random", {"random", "keep:0.25"}},
    {"fastv", {"fastv", "tokens:64"}},
    {"fitprune", {"fitprune", std::string("schedule:") + PB_TEST_DATA + "/fitprune/tiny_hr_recipe.json"}},
    {"gprune", {"gprune", "keep:0.5"}},
    {"pool", {"pool", "tokens:256"}},  // 16x16 of the 32x32 CLIP grid
    {"pdrop", {"pdrop:layers=1/2", "keep:0.5"}},
    {"dart", {"dart", "tokens:128"}},
    {"vtw", {"vtw:k=2", ""}},
    {"fopru", {"", ""}},
    {"sparsevlm", {"", ""}},
    {"visionzip", {"", ""}},
    {"fastervlm", {"", ""}},
    {"prumerge_plus", {"", ""}},
    {"tome", {"", ""}},
};

}  // namespace

TEST_CASE("llava-hr pruners: CLS-attention and in-tower methods are refused with one line, the rest run",
          "[pruners][llava_hr]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava-hr-tiny"), ModelOptions{}));
  const at::Tensor pixels =
      pixel_values_from_chw(normalize_clip(load_image_rgb(golden_path("hr/messi5.pad1024.png"))), 1024);
  const std::vector<int64_t> ids = {1, 11, 12, 13, kOriginalImagePlaceholder, 14, 15, 16, 17};
  REQUIRE(pruner_registry().size() == kHrSpecs.size());
  for (const PrunerEntry& entry : pruner_registry()) {
    const std::string& name = entry.info.name;
    DYNAMIC_SECTION(name) {
      REQUIRE(kHrSpecs.count(name) == 1);
      const auto& [spec, budget] = kHrSpecs.at(name);
      if (spec.empty()) {
        CHECK_FALSE(hr_refusal(name).empty());
        std::unique_ptr<Pruner> p;
        try {
          p = make_pruner(name, Budget::parse("tokens:64"));
        } catch (const Error&) {
          p = make_pruner(name, Budget::parse(""));
        }
        const std::string what = error_of([&] { resolve_for_model(*p, model->config()); });
        CHECK(what == "--pruner " + name + ": not available on LLaVA-HR models: " + hr_refusal(name));
        CHECK(what.find('\n') == std::string::npos);
        Session session;
        CHECK_THAT(error_of([&] { run_pruned_prefill(*model, *p, "k", pixels, ids, session, false, 0); }),
                   Catch::Contains("not available on LLaVA-HR models"));
        continue;
      }
      CHECK(hr_refusal(name).empty());
      auto pruner = make_pruner(spec, Budget::parse(budget));
      resolve_for_model(*pruner, model->config());
      Session session;
      const PrunedPrefill out = run_pruned_prefill(*model, *pruner, "messi", pixels, ids, session, false, 0);
      CHECK(out.image_tokens == 1024);
      CHECK(session.visual_tokens_per_layer.front() <= 1024);
      CHECK(session.visual_tokens_per_layer.back() == pruner->nominal_kept());
      for (const auto& [stage, kept] : out.kept) {
        INFO(stage);
        const at::Tensor k = kept.to(at::kCPU);
        REQUIRE(k.dim() == 1);
        if (k.numel() == 0) continue;
        CHECK(k.min().item<int64_t>() >= 0);
        CHECK(k.max().item<int64_t>() < 1024);
        CHECK(std::get<0>(at::_unique(k)).numel() == k.numel());
      }
    }
  }
}

TEST_CASE("llava-hr pruners: the published FitPrune HR recipes resolve for the HR-7B shape", "[pruners][llava_hr]") {
  const LlavaConfig hr = load_llava_config(std::string(PB_SOURCE_DIR) + "/configs/models/llava-hr-7b.json");
  for (const char* ratio : {"0.4", "0.6"}) {
    DYNAMIC_SECTION(ratio) {
      auto pruner = make_pruner("fitprune", Budget::parse(std::string("flops:") + ratio + "@fitprune"));
      const nlohmann::json resolved = resolve_for_model(*pruner, hr);
      CHECK(resolved["of"] == 1024);
      CHECK(resolved.dump().find("LLaVA_HR") != std::string::npos);  // the recipe's source
    }
  }
  // The 1024-token recipes do not fit LLaVA-1.5's 576.
  const LlavaConfig v15 = load_llava_config(std::string(PB_SOURCE_DIR) + "/configs/models/llava-1.5-7b-hf.json");
  auto pruner = make_pruner("fitprune:recipe=" + std::string(PB_SOURCE_DIR) + "/configs/fitprune/llava_hr_40.json",
                            Budget{});
  CHECK_THAT(error_of([&] { resolve_for_model(*pruner, v15); }), Catch::Contains("n_visual"));
}

}  // namespace pb::test
