// FasterVLM and the pool control on hand-built inputs with known answers.
#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <vector>

#include "core/error.h"
#include "pruners/pool.h"
#include "pruners/pruner.h"
#include "pruner_test_util.h"

namespace pb::test {

TEST_CASE("pruners: fastervlm: top-k of the CLS row's head-mean attention to the patches, raster order",
          "[pruners]") {
  const LlavaConfig cfg = clip_config(28, 3);  // 2x2 patches, feature layer -2 -> attention of layer 1
  auto pruner = make_pruner("fastervlm", Budget::parse("tokens:2"));
  pruner->resolve(cfg);
  CHECK(pruner->vision_attention_layers() == std::set<int64_t>{1});
  at::Tensor attention = at::zeros({2, 5, 5}, at::kFloat);
  attention[0][0] = at::tensor({0.0, 0.1, 0.4, 0.2, 0.3}, at::kFloat);
  attention[1][0] = at::tensor({0.0, 0.5, 0.0, 0.1, 0.4}, at::kFloat);
  // Head means 0.3, 0.2, 0.15, 0.35: patches 3 and 0. (Head max would pick 0 and 2.)
  attention.narrow(1, 1, 4).select(2, 3).fill_(1.0);  // the patch rows favour patch 2: ignored
  const std::vector<at::Tensor> attentions = {at::Tensor(), attention};
  const at::Tensor features = at::zeros({4, 8}, at::kFloat);
  CHECK(at::equal(pruner->select_before_projector({features, attentions, false}), longs({0, 3})));
  LlavaConfig full = cfg;
  full.vision_feature_select_strategy = "full";
  CHECK_THROWS_WITH(pruner->resolve(full), Catch::Contains("'full'"));
  CHECK_THROWS_WITH(make_pruner("fastervlm", Budget::parse("")), Catch::Contains("needs --budget"));
}

TEST_CASE("pruners: pool: grid shapes of the published budgets", "[pruners]") {
  CHECK(pool_shape(192, 24) == std::make_pair<int64_t, int64_t>(12, 16));
  CHECK(pool_shape(128, 24) == std::make_pair<int64_t, int64_t>(8, 16));
  CHECK(pool_shape(64, 24) == std::make_pair<int64_t, int64_t>(8, 8));
  CHECK(pool_shape(144, 24) == std::make_pair<int64_t, int64_t>(12, 12));
  CHECK(pool_shape(576, 24) == std::make_pair<int64_t, int64_t>(24, 24));
  CHECK_THROWS_WITH(pool_shape(37, 24), Catch::Contains("1x37"));
  auto p = make_pruner("pool", Budget::parse("tokens:192"));
  CHECK(p->resolve(clip_config(336, 24)).at("grid") == "12x16");
  CHECK(p->nominal_kept() == 192);
}

TEST_CASE("pruners: pool: 2x2 windows average and keep the sum x 4, record each window's top-left patch",
          "[pruners]") {
  // 4x4 grid -> 2x2: cell (0, 0) averages patches 0, 1, 4, 5.
  const at::Tensor f = at::arange(32, at::kFloat).view({16, 2});  // patch p = (2p, 2p + 1)
  const at::Tensor pooled = pool_features(f, 4, 2, 2);
  const std::vector<double> cells = {(0 + 2 + 8 + 10) / 4.0,    (1 + 3 + 9 + 11) / 4.0,
                                     (4 + 6 + 12 + 14) / 4.0,   (5 + 7 + 13 + 15) / 4.0,
                                     (16 + 18 + 24 + 26) / 4.0, (17 + 19 + 25 + 27) / 4.0,
                                     (20 + 22 + 28 + 30) / 4.0, (21 + 23 + 29 + 31) / 4.0};
  const at::Tensor expected = at::tensor(cells, at::kDouble).to(at::kFloat).view({4, 2});
  CHECK(at::allclose(pooled, expected));
  CHECK(at::allclose(pooled.sum(0) * 4, f.sum(0)));  // equal windows: mass x window size preserved
  CHECK(at::equal(pool_representatives(4, 2, 2), longs({0, 2, 8, 10})));
}

TEST_CASE("pruners: pool: 24 -> 12x16 windows overlap as in adaptive_avg_pool2d, coverage-weighted mass kept",
          "[pruners]") {
  const int64_t g = 24, rows = 12, cols = 16;
  const at::Tensor f = at::randn({g * g, 3}, at::kDouble).to(at::kFloat);
  const at::Tensor pooled = pool_features(f, g, rows, cols);
  REQUIRE(pooled.sizes() == at::IntArrayRef({rows * cols, 3}));
  // Reference written out: cell (i, j) = mean over [floor(i g / rows), ceil((i + 1) g / rows)) x the
  // same for columns; sum(cell x area) = sum(patch x number of windows covering it).
  at::Tensor coverage = at::zeros({g * g}, at::kDouble);
  at::Tensor weighted = at::zeros({3}, at::kDouble);
  const at::Tensor fd = f.to(at::kDouble);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t r0 = i * g / rows, r1 = ((i + 1) * g + rows - 1) / rows;
      const int64_t c0 = j * g / cols, c1 = ((j + 1) * g + cols - 1) / cols;
      at::Tensor sum = at::zeros({3}, at::kDouble);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t c = c0; c < c1; ++c) {
          sum += fd[r * g + c];
          coverage[r * g + c] += 1;
        }
      }
      const double area = static_cast<double>((r1 - r0) * (c1 - c0));
      CHECK(at::allclose(pooled[i * cols + j].to(at::kDouble), sum / area, 1e-5, 1e-6));
      weighted += pooled[i * cols + j].to(at::kDouble) * area;
    }
  }
  CHECK(at::allclose(weighted, (fd * coverage.unsqueeze(1)).sum(0), 1e-4, 1e-4));
  const at::Tensor reps = pool_representatives(g, rows, cols);
  CHECK(at::equal(reps.narrow(0, 0, 4), longs({0, 1, 3, 4})));  // column starts floor(1.5 j)
  CHECK(reps[cols].item<int64_t>() == 2 * g);                  // row 1 starts at patch row 2
  CHECK((reps.slice(0, 1) > reps.slice(0, 0, reps.numel() - 1)).all().item<bool>());
}

}  // namespace pb::test
