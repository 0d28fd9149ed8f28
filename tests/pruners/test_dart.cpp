// DART: pivots and the kept set on hand-built keys / hidden states, the 132/196/68 counts
// (pruners.md §7 item 10), original positions on the tiny model.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "golden_case.h"
#include "io/model_config.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/dart.h"
#include "pruners/pruner.h"
#include "test_paths.h"

namespace pb::test {

namespace {

// 2 prefix rows, 6 image rows, 3 text rows. Keys: image row 2 and text row 1 have the largest L1
// norm. Normed hidden states are 2-D directions.
struct Toy {
  at::Tensor keys = at::tensor({1.0, 1.0, 1.0, 2.0, 9.0, 1.0, 1.0, 3.0, 1.0, 5.0, 2.0}).unsqueeze(1) *
                    at::tensor({1.0, -1.0});  // [11, 2]: L1 norm 2x the column above
  at::Tensor normed = at::tensor({0.3, 0.3, 0.3, 0.3,                                          // prefix
                                  1.0, 0.0, 0.0, 1.0, 1.0, 0.0, -1.0, 0.0, 0.0, -1.0, 1.0, 1.0,  // image
                                  0.5, 0.5, 0.0, 1.0, 0.2, 0.1})                                 // text
                           .view({11, 2});
};

}  // namespace

TEST_CASE("dart: pivots by key L1 norm, each claims its least cosine-similar image tokens", "[pruners][dart]") {
  const Toy toy;
  SECTION("one token per pivot") {
    const DartSelection s = dart_select(toy.keys, toy.normed, 2, 6, 1, 1, 1);
    CHECK(at::equal(s.image_pivots, at::tensor({2}, at::kLong)));  // key norm 9
    CHECK(at::equal(s.text_pivots, at::tensor({1}, at::kLong)));   // key norm 5
    // Image pivot (1,0): least similar is image 3 (-1,0). Text pivot (0,1): image 4 (0,-1).
    CHECK(at::equal(s.kept, at::tensor({2, 3, 4}, at::kLong)));
  }
  SECTION("two per pivot: ties go to the lower index") {
    // Image pivot: image 3 (cos -1), then images 1 and 4 tie at cos 0 -> image 1. Text pivot over
    // {0, 4, 5}: image 4 (-1), image 0 (0). Image 5 (1,1) is never claimed.
    const DartSelection s = dart_select(toy.keys, toy.normed, 2, 6, 1, 1, 2);
    CHECK(at::equal(s.kept, at::tensor({0, 1, 2, 3, 4}, at::kLong)));
  }
}

TEST_CASE("dart: budgets 128 / 192 / 64 keep 132 / 196 / 68 image tokens (item 10)", "[pruners][dart]") {
  const LlavaConfig cfg = load_llava_config(std::string(PB_SOURCE_DIR) + "/configs/models/llava-1.5-7b-hf.json");
  for (const auto& [budget, kept] : std::vector<std::pair<int64_t, int64_t>>{{128, 132}, {192, 196}, {64, 68}}) {
    auto pruner = make_pruner("dart", Budget::parse("tokens:" + std::to_string(budget)));
    const nlohmann::json r = pruner->resolve(cfg);
    CHECK(pruner->nominal_kept() == kept);
    CHECK(r.at("per_pivot") == budget / 8);
    const auto per_layer = r.at("visual_tokens_per_layer").get<std::vector<int64_t>>();
    CHECK(per_layer[1] == 576);
    CHECK(per_layer[2] == kept);
  }
  auto plain = make_pruner("dart", Budget::parse(""));
  plain->resolve(cfg);
  CHECK(plain->nominal_kept() == 132);  // max_num_trunction defaults to 128
  CHECK_THROWS_AS(make_pruner("dart", Budget::parse("flops:0.5@fitprune"))->resolve(cfg), Error);
}

TEST_CASE("dart: on the tiny model layer 2 runs on 132 image tokens at their original positions",
          "[pruners][dart]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  auto pruner = make_pruner("dart", Budget::parse("tokens:128"));
  pruner->resolve(model->config());
  Session session;
  const PrunedPrefill out =
      run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"), session, false, 1);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 576, 132});
  REQUIRE(out.kept.size() == 1);
  CHECK(out.kept[0].first == "kept_layer2");
  CHECK(out.kept[0].second.numel() == 132);
  CHECK(at::equal(session.final_state.positions, session.final_state.origin));  // original positions
  CHECK(session.cache.length(1) == out.prompt.embeds.size(0));
  CHECK(session.cache.length(2) == session.final_state.hidden.size(0));
}

}  // namespace pb::test
