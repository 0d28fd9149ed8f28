// FoPru on hand-built CLIP attention maps with known answers, and on the golden tiny model.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include "pruner_test_util.h"

#include <set>
#include <vector>

#include "core/error.h"
#include "golden_case.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/fopru.h"
#include "pruners/pruner.h"

namespace pb::test {
namespace {

// CLIP-L/336 as LLaVA-1.5 uses it: 24x24 patches, 24 tower layers, feature layer -2.
LlavaConfig clip_l336_config() {
  LlavaConfig cfg;
  cfg.vision.image_size = 336;
  cfg.vision.patch_size = 14;
  cfg.vision.num_hidden_layers = 24;
  return cfg;
}

// [1, 1+P, 1+P]: every query row (CLS included) attends with `row` ([1+P], CLS first).
at::Tensor same_rows(const std::vector<double>& row) {
  const auto n = static_cast<int64_t>(row.size());
  return at::tensor(row, at::kDouble).to(at::kFloat).view({1, 1, n}).expand({1, n, n}).contiguous();
}


}  // namespace

TEST_CASE("pruners: fopru: column mean wins when every patch attends alike", "[pruners]") {
  // Rows identical -> the row mean is constant (variance 0); columns differ.
  const at::Tensor a = same_rows({0.2, 0.4, 0.1, 0.2, 0.1});  // CLS, then 4 patches (2x2 grid)
  const FopruSignificance sig = fopru_significance(a);
  CHECK(sig.column);
  CHECK(at::allclose(sig.scores, at::tensor({0.4, 0.1, 0.2, 0.1}, at::kFloat)));
  CHECK(at::equal(fopru_select(sig.scores, FopruStrategy::kRank, 2, 2), longs({0, 2})));
}

TEST_CASE("pruners: fopru: row mean wins when patches differ only in how much they give CLS", "[pruners]") {
  // Patch row i gives CLS c_i and spreads the rest evenly: every column mean is the same (variance
  // 0), the row means (1 - c_i) / 4 differ.
  const std::vector<double> cls = {0.5, 0.125, 0.25, 0.75};  // dyadic: every mean is exact
  at::Tensor a = at::zeros({1, 5, 5}, at::kFloat);
  a[0][0] = at::full({5}, 0.2, at::kFloat);
  for (int64_t i = 0; i < 4; ++i) {
    a[0][i + 1][0] = cls[static_cast<size_t>(i)];
    a[0][i + 1].narrow(0, 1, 4).fill_((1 - cls[static_cast<size_t>(i)]) / 4);
  }
  const FopruSignificance sig = fopru_significance(a);
  CHECK_FALSE(sig.column);
  CHECK(at::equal(sig.scores, at::tensor({0.125, 0.21875, 0.1875, 0.0625}, at::kFloat)));
  CHECK(at::equal(fopru_select(sig.scores, FopruStrategy::kRank, 2, 2), longs({1, 2})));
}

TEST_CASE("pruners: fopru: equal variances go to the row mean, as the reference's strict > does", "[pruners]") {
  // A symmetric patch block: the column means equal the row means, so the variances tie (dyadic
  // values, so both reductions are exact whatever their order).
  at::Tensor a = at::zeros({1, 5, 5}, at::kFloat);
  const at::Tensor block = at::tensor({0.375, 0.125, 0.125, 0.0,     //
                                       0.125, 0.25, 0.0, 0.125,      //
                                       0.125, 0.0, 0.1875, 0.0,      //
                                       0.0, 0.125, 0.0, 0.0625},
                                      at::kDouble)
                               .to(at::kFloat)
                               .view({4, 4});
  a[0].narrow(0, 1, 4).narrow(1, 1, 4).copy_(block);
  const FopruSignificance sig = fopru_significance(a);
  CHECK_FALSE(sig.column);
  // A uniform map: both variances are 0, again the row mean.
  CHECK_FALSE(fopru_significance(at::full({2, 5, 5}, 0.2, at::kFloat)).column);
}

TEST_CASE("pruners: fopru: heads are averaged (not maxed) and the CLS row and column are left out", "[pruners]") {
  // Head 0 puts 0.5 on patch 0 and 0.4 on patch 3; head 1 puts 0.4 on patch 3. Mean: patch 3 wins
  // (0.4 vs 0.25); a max over heads would pick patch 0.
  at::Tensor a = at::cat({same_rows({0.1, 0.5, 0.0, 0.0, 0.4}), same_rows({0.4, 0.0, 0.0, 0.2, 0.4})}, 0);
  CHECK(at::equal(fopru_select(fopru_significance(a).scores, FopruStrategy::kRank, 1, 2), longs({3})));
  // The CLS query row attends only to patch 2; if it counted, patch 2 would rank first.
  at::Tensor b = same_rows({0.5, 0.2, 0.1, 0.0, 0.2});
  b[0][0] = at::tensor({0.0, 0.0, 0.0, 1.0, 0.0}, at::kDouble).to(at::kFloat);
  const FopruSignificance sig = fopru_significance(b);
  CHECK(sig.column);
  // Patches 0 and 3 tie at 0.2: the lower index wins (the harness's tie rule).
  CHECK(at::equal(fopru_select(sig.scores, FopruStrategy::kRank, 1, 2), longs({0})));
}

TEST_CASE("pruners: fopru: rank ties keep the lower index, and kept indices are ascending", "[pruners]") {
  const at::Tensor s = at::tensor({0.1, 0.2, 0.2, 0.05, 0.2, 0.1, 0.05, 0.05, 0.05}, at::kDouble).to(at::kFloat);
  CHECK(at::equal(fopru_select(s, FopruStrategy::kRank, 2, 3), longs({1, 2})));
  CHECK(at::equal(fopru_select(s, FopruStrategy::kRank, 4, 3), longs({0, 1, 2, 4})));
  CHECK(at::equal(fopru_select(s, FopruStrategy::kRank, 6, 3), longs({0, 1, 2, 3, 4, 5})));
  // Rows: sums 0.5, 0.35, 0.15 -> the top two rows 0 and 1, whole, in raster order.
  CHECK(at::equal(fopru_select(s, FopruStrategy::kRow, 2, 3), longs({0, 1, 2, 3, 4, 5})));
  CHECK(at::equal(fopru_select(s, FopruStrategy::kRow, 1, 3), longs({0, 1, 2})));
}

TEST_CASE("pruners: fopru: asks for the feature layer's attention, computed from the config", "[pruners]") {
  LlavaConfig cfg = clip_l336_config();
  auto p = make_pruner("fopru", Budget::parse("tokens:64"));
  p->resolve(cfg);
  CHECK(p->vision_attention_layers() == std::set<int64_t>{22});  // hidden_states[23] = layer 22's output
  cfg.vision_feature_layers = {-1};
  p->resolve(cfg);
  CHECK(p->vision_attention_layers() == std::set<int64_t>{23});
  cfg.vision_feature_layers = {0};
  CHECK_THROWS_WITH(p->resolve(cfg), Catch::Contains("no attention map"));
  cfg.vision_feature_layers = {-2, -5};
  CHECK_THROWS_WITH(p->resolve(cfg), Catch::Contains("single vision_feature_layer"));
  cfg.vision_feature_layers = {-2};
  cfg.vision_feature_select_strategy = "full";
  CHECK_THROWS_WITH(p->resolve(cfg), Catch::Contains("'full'"));
  CHECK_THROWS_WITH(make_pruner("fopru", Budget::parse("")), Catch::Contains("needs --budget"));
  CHECK_THROWS_WITH(make_pruner("fopru:strategy=cols", Budget::parse("tokens:8")), Catch::Contains("rank or row"));
}

TEST_CASE("pruners: fopru: row strategy at keep 0.25 keeps exactly 6 whole rows, 144 tokens, in raster order",
          "[pruners]") {
  // pruners.md §7.17. Every patch attends alike (column mean wins). Rows 3, 7, 8, 15, 20, 23 get
  // twice the base attention per token; one hot token in row 0 gets 11x, which makes rank keep it
  // but leaves row 0 (sum 34u) below the six rows (48u each).
  const LlavaConfig cfg = clip_l336_config();
  const int64_t grid = 24, n = grid * grid;
  const std::vector<int64_t> hot_rows = {3, 7, 8, 15, 20, 23};
  std::vector<double> row(static_cast<size_t>(n + 1), 0.001);
  for (int64_t r : hot_rows) {
    for (int64_t c = 0; c < grid; ++c) row[static_cast<size_t>(1 + r * grid + c)] = 0.002;
  }
  row[1 + 5] = 0.011;
  double patch_mass = 0;
  for (size_t i = 1; i < row.size(); ++i) patch_mass += row[i];
  row[0] = 1 - patch_mass;  // CLS
  const at::Tensor attention = same_rows(row).squeeze(0);  // [1+P, 1+P] -> one head below
  std::vector<at::Tensor> attentions(23);
  attentions[22] = attention.unsqueeze(0);
  const at::Tensor features = at::zeros({n, 8}, at::kFloat);

  auto pruner = make_pruner("fopru:strategy=row", Budget::parse("keep:0.25"));
  const nlohmann::json resolved = pruner->resolve(cfg);
  CHECK(resolved.at("rows") == 6);
  CHECK(pruner->nominal_kept() == 144);
  const at::Tensor kept = pruner->select_before_projector({features, attentions, false});
  std::vector<int64_t> expected;
  for (int64_t r : hot_rows) {
    for (int64_t c = 0; c < grid; ++c) expected.push_back(r * grid + c);
  }
  CHECK(at::equal(kept, longs(expected)));

  // tokens:N keeps floor(N / 24) rows; fewer than 24 tokens is less than one row.
  auto by_tokens = make_pruner("fopru:strategy=row", Budget::parse("tokens:167"));
  by_tokens->resolve(cfg);
  CHECK(by_tokens->nominal_kept() == 144);
  CHECK(at::equal(by_tokens->select_before_projector({features, attentions, false}), longs(expected)));
  auto tiny = make_pruner("fopru:strategy=row", Budget::parse("tokens:23"));
  CHECK_THROWS_WITH(tiny->resolve(cfg), Catch::Contains("less than one row"));

  // rank at the same budget keeps exactly 144 tokens, the hot token among them.
  auto rank = make_pruner("fopru", Budget::parse("keep:0.25"));
  rank->resolve(cfg);
  CHECK(rank->nominal_kept() == 144);
  const at::Tensor ranked = rank->select_before_projector({features, attentions, false});
  CHECK(ranked.numel() == 144);
  CHECK(ranked[0].item<int64_t>() == 5);
}

TEST_CASE("pruners: fopru: on the golden model it keeps the top of the feature layer's significance", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  // The tiny tower has 3 layers and vision_feature_layer -2: hidden_states[2], layer 1's output.
  const at::Tensor attention = model->encode_vision(ref.get("pixel_values"), {1}).vision_attentions.at(1);
  // Reference, written out independently: slice CLS, head mean, larger unbiased variance.
  const at::Tensor s = attention.narrow(1, 1, 576).narrow(2, 1, 576).mean(0);
  const at::Tensor col = s.mean(0), row = s.mean(1);
  const at::Tensor sig = col.var().item<double>() > row.var().item<double>() ? col : row;
  for (const char* strategy : {"rank", "row"}) {
    DYNAMIC_SECTION(strategy) {
      auto pruner = make_pruner(std::string("fopru:strategy=") + strategy, Budget::parse("tokens:100"));
      pruner->resolve(model->config());
      CHECK(pruner->vision_attention_layers() == std::set<int64_t>{1});
      Session session;
      const PrunedPrefill out = run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"),
                                                   ref.ids("input_ids"), session, false, 1);
      REQUIRE(out.kept.size() == 1);
      CHECK(out.kept[0].first == "kept_vision");
      at::Tensor expected;
      if (std::string(strategy) == "rank") {
        expected = std::get<0>(std::get<1>(at::topk(sig, 100)).sort());
      } else {
        const at::Tensor rows = std::get<0>(std::get<1>(at::topk(sig.view({24, 24}).sum(1), 4)).sort());
        expected = (rows.unsqueeze(1) * 24 + at::arange(24, at::kLong).unsqueeze(0)).reshape({-1});
      }
      CHECK(at::equal(out.kept[0].second, expected));
      CHECK(session.visual_tokens_per_layer == std::vector<int64_t>(3, pruner->nominal_kept()));
    }
  }
}

}  // namespace pb::test
