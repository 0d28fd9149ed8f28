// G-Prune on hand-built embeddings with known answers, and on the golden tiny model.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "golden_case.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/gprune.h"
#include "pruners/pruner.h"

namespace pb::test {
namespace {

// A config whose image is grid x grid patches (CLIP-L/14 patches).
LlavaConfig grid_config(int64_t grid) {
  LlavaConfig cfg;
  cfg.vision.patch_size = 14;
  cfg.vision.image_size = 14 * grid;
  cfg.vision.num_hidden_layers = 24;
  return cfg;
}

at::Tensor rows(const std::vector<std::vector<double>>& r) {
  std::vector<at::Tensor> out;
  for (const auto& v : r) out.push_back(at::tensor(v, at::kDouble).to(at::kFloat));
  return at::stack(out);
}

at::Tensor longs(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); }

}  // namespace

TEST_CASE("pruners: gprune: a duplicated token gets degree 2 and half an isolated token's mass, so it goes first",
          "[pruners]") {
  // pruners.md §7.16. Tokens 0 and 1 are identical; 2 and 3 are orthogonal to everything. All norms 2.
  const at::Tensor x = rows({{2, 0, 0, 0}, {2, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 2, 0}});
  const GpruneScores s = gprune_scores(x, 0.5, 0.03, 5);
  CHECK(at::equal(s.degree, longs({2, 2, 1, 1})));
  // P = [[.5,.5,0,0],[.5,.5,0,0],[0,0,1,0],[0,0,0,1]] exactly; w^T P^5 = w = 2 everywhere; / degree.
  CHECK(at::equal(s.importance, at::tensor({1.0f, 1.0f, 2.0f, 2.0f})));

  const LlavaConfig cfg = grid_config(2);  // 4 visual tokens
  auto keep2 = make_pruner("gprune", Budget::parse("tokens:2"));
  keep2->resolve(cfg);
  CHECK(at::equal(keep2->select_after_projector(x), longs({2, 3})));
  auto keep3 = make_pruner("gprune", Budget::parse("tokens:3"));
  keep3->resolve(cfg);
  CHECK(at::equal(keep3->select_after_projector(x), longs({0, 2, 3})));  // the pair ties: lower index
}

TEST_CASE("pruners: gprune: an edge with similarity exactly at the threshold survives", "[pruners]") {
  // cos(t0, t1) = 0.5 exactly in fp32 (t1 normalises to 0.5 everywhere); t2 is at cosine 0 and -0.5.
  const at::Tensor x = rows({{1, 0, 0, 0}, {1, 1, 1, 1}, {0, -1, 0, 0}});
  CHECK(at::equal(gprune_scores(x, 0.5, 0.03, 5).degree, longs({2, 2, 1})));
  // Just above 0.5 the edge is gone.
  CHECK(at::equal(gprune_scores(x, 0.5000001, 0.03, 5).degree, longs({1, 1, 1})));
}

TEST_CASE("pruners: gprune: masking is the official |S/temperature| < 1e-6 -> -5000 rule", "[pruners]") {
  // With threshold -1 nothing is cut by the threshold, but an exactly orthogonal pair (S = 0) is
  // still set to -5000 by the value rule; the anti-parallel pair (S = -1) keeps a tiny positive weight.
  const at::Tensor x = rows({{1, 0}, {0, 1}, {-1, 0}});
  const GpruneScores s = gprune_scores(x, -1.0, 0.03, 5);
  CHECK(at::equal(s.degree, longs({2, 1, 2})));
}

TEST_CASE("pruners: gprune: importance is w^T P^steps over the thresholded softmax graph, divided by degree",
          "[pruners]") {
  at::manual_seed(11);
  const at::Tensor x = at::randn({12, 6}, at::TensorOptions().dtype(at::kDouble)).to(at::kFloat) +
                       at::tensor({2.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f});  // some edges above 0.5
  // Step by step, independently: the dense graph, masked, row softmax, then one push per step.
  const at::Tensor unit = x / x.norm(2, {1}, true);
  at::Tensor a = at::matmul(unit, unit.t());
  a = at::where(a < 0.5, at::zeros_like(a), a) / 0.03;
  a = at::where(a.abs() < 1e-6, at::full_like(a, -5000), a);
  const at::Tensor p = at::softmax(a, 1);
  const at::Tensor degree = (p > 0).sum(1);
  for (int64_t steps : {0, 1, 5}) {
    at::Tensor r = x.norm(2, {1});
    for (int64_t i = 0; i < steps; ++i) r = at::matmul(r, p);
    const GpruneScores s = gprune_scores(x, 0.5, 0.03, steps);
    INFO("steps " << steps);
    CHECK(at::equal(s.degree, degree));
    CHECK(at::allclose(s.importance, r / degree.to(at::kFloat), 1e-5, 1e-6));
  }
  CHECK(degree.min().item<int64_t>() >= 1);
  CHECK(degree.max().item<int64_t>() > 1);
}

TEST_CASE("pruners: gprune: default keep is int(0.5 x 576) = 288, and ratio budgets truncate as the official int()",
          "[pruners]") {
  const LlavaConfig cfg = grid_config(24);
  auto by_default = make_pruner("gprune", Budget::parse(""));
  by_default->resolve(cfg);
  CHECK(by_default->nominal_kept() == 288);  // pruners.md §7.13
  at::manual_seed(5);
  const at::Tensor x = at::randn({576, 16}, at::TensorOptions().dtype(at::kDouble)).to(at::kFloat);
  const at::Tensor kept = by_default->select_after_projector(x);
  REQUIRE(kept.numel() == 288);
  CHECK((kept.slice(0, 1) > kept.slice(0, 0, 287)).all().item<bool>());
  CHECK(at::equal(kept, by_default->select_after_projector(x)));

  auto ratio = make_pruner("gprune", Budget::parse("keep:0.3"));
  ratio->resolve(cfg);
  CHECK(ratio->nominal_kept() == 172);  // int(172.8); the harness's keep:R rounding would give 173
  auto param = make_pruner("gprune:keep=0.999", Budget::parse(""));
  param->resolve(cfg);
  CHECK(param->nominal_kept() == 575);
  auto tokens = make_pruner("gprune", Budget::parse("tokens:100"));
  tokens->resolve(cfg);
  CHECK(tokens->nominal_kept() == 100);

  CHECK_THROWS_WITH(make_pruner("gprune:keep=0.3", Budget::parse("tokens:5")), Catch::Contains("not both"));
  CHECK_THROWS_WITH(make_pruner("gprune", Budget::parse("flops:0.5")), Catch::Contains("not a G-Prune budget"));
  CHECK_THROWS_WITH(make_pruner("gprune:temperature=0", Budget::parse("")), Catch::Contains("must be > 0"));
  CHECK_THROWS_WITH(make_pruner("gprune:steps=-1", Budget::parse("")), Catch::Contains(">= 0"));
  auto none_left = make_pruner("gprune:keep=0.001", Budget::parse(""));
  CHECK_THROWS_WITH(none_left->resolve(cfg), Catch::Contains("= 0 visual tokens"));
}

TEST_CASE("pruners: gprune: on the golden model it selects after the projector and keeps original positions",
          "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  const at::Tensor embeds = model->encode_image(ref.get("pixel_values")).image_embeds;  // [576, D]
  const GpruneScores s = gprune_scores(embeds, 0.5, 0.03, 5);
  const at::Tensor expected = std::get<0>(std::get<1>(at::topk(s.importance, 288)).sort());

  auto pruner = make_pruner("gprune", Budget::parse(""));
  pruner->resolve(model->config());
  Session session;
  const PrunedPrefill out = run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"),
                                               session, false, 1);
  REQUIRE(out.kept.size() == 1);
  CHECK(out.kept[0].first == "kept_projector");
  CHECK(at::equal(out.kept[0].second, expected));
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>(3, 288));

  // Positions: the kept image rows sit at their original positions and the text after the image
  // continues as if nothing was dropped, so decoding starts where the unpruned model's does.
  const int64_t begin = out.prompt.image_begin;
  REQUIRE(out.prompt.positions.defined());
  CHECK(at::equal(out.prompt.positions.narrow(0, begin, 288), expected + begin));
  auto none = make_pruner("none", Budget::parse(""));
  none->resolve(model->config());
  Session full;
  run_pruned_prefill(*model, *none, "k", ref.get("pixel_values"), ref.ids("input_ids"), full, false, 1);
  CHECK(session.next_position == full.next_position);
  CHECK(out.prompt.embeds.size(0) == full.final_state.hidden.size(0) - 288);
}

}  // namespace pb::test
