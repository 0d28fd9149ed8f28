// Properties every registered pruner must have, run on the golden tiny LLaVA-1.5 model.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <map>

#include "golden_case.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"
#include "test_paths.h"

namespace pb::test {
namespace {

// The budget each method is exercised with. Every registered method must appear here, so a new
// method cannot skip the property tests.
const std::map<std::string, std::string> kTestBudgets = {
    {"none", ""},
    {"random", "tokens:64"},
    {"fastv", "tokens:64"},
    {"fitprune", std::string("schedule:") + PB_TEST_DATA + "/fitprune/tiny_recipe.json"},
    {"fopru", "tokens:64"},
    {"gprune", "tokens:64"},
    {"visionzip", "tokens:64"},
    {"fastervlm", "tokens:64"},
    {"prumerge_plus", "tokens:64"},
    {"tome", "tokens:192"},  // the tiny tower runs 2 layers: at most 432 of 576 tokens can merge
    {"pool", "tokens:64"},
    {"pdrop", "keep:0.5"},
    {"sparsevlm", "tokens:64"},
    {"dart", "tokens:64"},
    {"vtw", ""},
};

// Parameters a method needs on the 3-layer tiny model (its published layers lie deeper).
const std::map<std::string, std::string> kTestSpecs = {
    {"pdrop", "pdrop:layers=1/2"},
    {"sparsevlm", "sparsevlm:layers=0/1/2"},
    {"vtw", "vtw:k=2"},
};

std::string test_spec(const std::string& name) {
  const auto it = kTestSpecs.find(name);
  return it == kTestSpecs.end() ? name : it->second;
}

struct Outcome {
  at::Tensor logits;
  std::vector<std::pair<std::string, at::Tensor>> kept;
  std::vector<int64_t> visual_per_layer;
};

Outcome run(const LlavaModelImpl& model, const std::string& method, const std::string& budget,
            const std::string& key = "sample-1") {
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  auto pruner = make_pruner(method, Budget::parse(budget));
  pruner->resolve(model.config());
  Session session;
  PrunedPrefill out = run_pruned_prefill(model, *pruner, key, ref.get("pixel_values"), ref.ids("input_ids"), session,
                                         false, 1);
  return {out.logits, out.kept, session.visual_tokens_per_layer};
}

}  // namespace

TEST_CASE("pruners: every registered method keeps what its budget resolved to", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  for (const PrunerEntry& entry : pruner_registry()) {
    const std::string& name = entry.info.name;
    DYNAMIC_SECTION(name) {
      REQUIRE(kTestBudgets.count(name) == 1);
      auto pruner = make_pruner(test_spec(name), Budget::parse(kTestBudgets.at(name)));
      pruner->resolve(model->config());
      const Outcome o = run(*model, test_spec(name), kTestBudgets.at(name));
      // The visual tokens entering the last layer are exactly the resolved count.
      CHECK(o.visual_per_layer.back() == pruner->nominal_kept());
      for (const auto& [stage, kept] : o.kept) {
        INFO(stage);
        const at::Tensor k = kept.to(at::kCPU);
        REQUIRE(k.dim() == 1);
        if (k.numel() == 0) continue;  // VTW withdraws every visual token
        CHECK(k.min().item<int64_t>() >= 0);
        CHECK(k.max().item<int64_t>() < 576);
        if (k.numel() > 1) {
          // unique and ascending
          CHECK((k.slice(0, 1) > k.slice(0, 0, k.numel() - 1)).all().item<bool>());
        }
      }
      // Same seed, same sample: same result, bit for bit.
      const Outcome again = run(*model, test_spec(name), kTestBudgets.at(name));
      CHECK(at::equal(o.logits, again.logits));
    }
  }
}

TEST_CASE("pruners: none is the unpruned model bit for bit", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  Session session;
  const at::Tensor plain = model->prefill(model->splice(ref.ids("input_ids"), model->encode_image(ref.get("pixel_values")).image_embeds),
                                          session, nullptr, false, 1);
  const Outcome o = run(*model, "none", "");
  CHECK(at::equal(o.logits, plain));
  CHECK(o.kept.empty());
}

TEST_CASE("pruners: random draws per sample key, independent of order", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const Outcome a = run(*model, "random", "tokens:32", "key-a");
  const Outcome b = run(*model, "random", "tokens:32", "key-b");
  const Outcome a2 = run(*model, "random", "tokens:32", "key-a");
  REQUIRE(a.kept.size() == 1);
  CHECK(a.kept[0].first == "kept_vision");
  CHECK(at::equal(a.kept[0].second, a2.kept[0].second));
  CHECK(!at::equal(a.kept[0].second, b.kept[0].second));
  const Outcome seeded = run(*model, "random:seed=7", "tokens:32", "key-a");
  CHECK(!at::equal(a.kept[0].second, seeded.kept[0].second));
}

TEST_CASE("pruners: FastV keeps the top-k of layer K-1's last-row head-mean attention (golden)", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  for (const char* file : {"case0.safetensors", "case1.safetensors"}) {
    const GoldenCase ref(golden_path(std::string("llava15-tiny/") + file));
    const std::vector<int64_t> ids = ref.ids("input_ids");
    // The image marker (image_token_index 1000 in the tiny config) is where the 576 image rows start.
    const auto image_begin = static_cast<int64_t>(std::find(ids.begin(), ids.end(), 1000) - ids.begin());
    const at::Tensor attention = ref.get("lm_last_row_attention");  // [L, H, T]
    for (int64_t keep : {192, 128, 64}) {
      DYNAMIC_SECTION(file << " keep " << keep) {
        auto pruner = make_pruner("fastv:k=2", Budget::parse("tokens:" + std::to_string(keep)));
        pruner->resolve(model->config());
        Session session;
        const PrunedPrefill out = run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"),
                                                     ref.ids("input_ids"), session, false, 1);
        REQUIRE(out.kept.size() == 1);
        CHECK(out.kept[0].first == "kept_layer2");
        // Reference: head mean of layer 1's last row over the image span, top-k, ascending.
        const at::Tensor scores = attention[1].mean(0).narrow(0, image_begin, 576);
        const at::Tensor expected = std::get<0>(std::get<1>(at::topk(scores.to(at::kDouble), keep)).sort());
        CHECK(at::equal(out.kept[0].second, expected));
        CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 576, keep});
      }
    }
  }
}

}  // namespace pb::test
