// PruMerge+ on hand-built q/k, attention and features with known answers, and on the golden model.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "golden_case.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/prumerge_plus.h"
#include "pruners/pruner.h"
#include "pruners/vision_stage.h"

namespace pb::test {
namespace {

at::Tensor longs(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); }
at::Tensor floats(const std::vector<double>& v) { return at::tensor(v, at::kDouble).to(at::kFloat); }

}  // namespace

TEST_CASE("pruners: prumerge_plus: CLS row of one full-width softmax(q k^T / sqrt(D)), CLS column cut", "[pruners]") {
  const at::Tensor q = floats({2, 0, 0, 0, /**/ 9, 9, 9, 9, /**/ 9, 9, 9, 9}).view({3, 4});
  const at::Tensor k = floats({0, 0, 0, 0, /**/ 1, 0, 0, 0, /**/ 0, 0, 0, 0}).view({3, 4});
  // q0 . k = (0, 2, 0), / sqrt(4) = (0, 1, 0): softmax = (1, e, 1) / (2 + e); patches (e, 1) / (2 + e).
  const double e = std::exp(1.0), z = 2 + e;
  CHECK(at::allclose(prumerge_cls_attention(q, k), floats({e / z, 1 / z})));
}

TEST_CASE("pruners: prumerge_plus: outliers above Q3 + 1.5 IQR with numpy's linear percentiles", "[pruners]") {
  // 10 values: Q1 at h = 2.25 -> 2.25, Q3 at h = 6.75 -> 6.75, fence 6.75 + 1.5 * 4.5 = 13.5.
  CHECK(prumerge_outlier_count(floats({0, 1, 2, 3, 4, 5, 6, 7, 8, 14})) == 1);
  CHECK(prumerge_outlier_count(floats({0, 1, 2, 3, 4, 5, 6, 7, 8, 13.5})) == 0);  // strictly above
  // Unsorted input, quartiles 3.25 and 7.75: fence 14.5, so 15 and 20 are outliers, 14 would not be.
  CHECK(prumerge_outlier_count(floats({15, 1, 2, 3, 4, 5, 6, 7, 8, 20})) == 2);
  CHECK(prumerge_outlier_count(floats({14, 1, 2, 3, 4, 5, 6, 7, 8, 20})) == 1);
}

TEST_CASE("pruners: prumerge_plus: outliers by attention, then stride samples not already kept", "[pruners]") {
  // 24 patches, two outliers (8 above 3): ratio 2/24, int(24 * ratio) = 2 top patches, step_length
  // int(12.0) = 12, stride 4: samples 0, 4, 8, 12, 16, 20 (< 23), 8 already kept.
  std::vector<double> v(24, 1.0);
  v[8] = 50;
  v[3] = 40;
  CHECK(at::equal(prumerge_plus_select(floats(v)), longs({8, 3, 0, 4, 12, 16, 20})));
  CHECK_THROWS_WITH(prumerge_plus_select(floats(std::vector<double>(24, 1.0))), Catch::Contains("no CLS-attention"));
}

TEST_CASE("pruners: prumerge_plus: each kept patch adds its neighbours x attention, unnormalised, + 1 extra",
          "[pruners]") {
  // 5 patches; features x_j = (j, 1). Keys: patch 3's two nearest are 2 and 4, patch 1's are 0 and 4.
  const at::Tensor x = at::stack({at::arange(5, at::kFloat), at::ones({5}, at::kFloat)}, 1);
  const at::Tensor keys = floats({1, 0, /**/ 1, 0.1, /**/ 0, 1, /**/ 0.1, 1, /**/ 1, 1}).view({5, 2});
  const at::Tensor a = floats({0.1, 0.2, 0.3, 0.15, 0.25});
  const at::Tensor out = prumerge_merge(x, keys, a, longs({3, 1}), 2);
  // centre(3) = x3 + 0.3 x2 + 0.25 x4; centre(1) = x1 + 0.1 x0 + 0.25 x4; extra = sum over 0, 2, 4.
  const at::Tensor expected = floats({4.6, 1.55, /**/ 2.0, 1.35, /**/ 1.6, 0.65}).view({3, 2});
  CHECK(at::allclose(out, expected));
  // Mass: the second column (all ones) shows the weights are not normalised: 1 + sum of the
  // neighbours' attention per centre (not 1), and the attention mass of the rest in the extra row.
  CHECK(at::allclose(out.select(1, 1), floats({1 + 0.3 + 0.25, 1 + 0.1 + 0.25, 0.1 + 0.3 + 0.25})));
}

TEST_CASE("pruners: prumerge_plus: budgets and records", "[pruners]") {
  LlavaConfig cfg;
  cfg.vision.image_size = 336;
  cfg.vision.patch_size = 14;
  cfg.vision.num_hidden_layers = 24;
  auto adaptive = make_pruner("prumerge_plus", Budget::parse(""));
  const nlohmann::json j = adaptive->resolve(cfg);
  CHECK(adaptive->vision_qk_layers() == std::set<int64_t>{23});  // layers[23]
  CHECK(adaptive->nominal_kept() == 0);
  CHECK(j.at("kept").get<std::string>().rfind("adaptive", 0) == 0);
  auto fixed = make_pruner("prumerge_plus", Budget::parse("tokens:64"));
  fixed->resolve(cfg);
  CHECK(fixed->nominal_kept() == 64);
  cfg.vision_feature_layers = {-1};
  CHECK_THROWS_WITH(fixed->resolve(cfg), Catch::Contains("-2"));
  CHECK_THROWS_WITH(make_pruner("prumerge_plus", Budget::parse("flops:0.5")), Catch::Contains("own count"));
}

TEST_CASE("pruners: prumerge_plus: q/k from a layer's input reproduce that layer's attention (golden model)",
          "[pruners]") {
  // The probe path's meaning on a layer that runs: per-head softmax of the returned q/k is the
  // recorded attention of layer 1 of the golden tiny tower.
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  VisionTowerRequest request;
  request.attention_layers = {1};
  request.qk_layers = {1, 2};  // 2 = the first layer LLaVA does not run (the q/k probe)
  const ImageFeatures f = model->encode_vision(ref.get("pixel_values"), request);
  const auto& [q, k] = f.vision_qk.at(1);  // [577, 64]
  const int64_t h = 4, hd = 16;
  const at::Tensor qh = q.view({577, h, hd}).transpose(0, 1), kh = k.view({577, h, hd}).transpose(0, 1);
  const at::Tensor p = at::softmax(at::matmul(qh, kh.transpose(1, 2)) / std::sqrt(static_cast<double>(hd)), -1);
  CHECK(at::allclose(p, f.vision_attentions.at(1), 1e-4, 1e-6));
  REQUIRE(f.vision_qk.at(2).first.defined());
  CHECK(f.vision_qk.at(2).first.sizes() == at::IntArrayRef({577, 64}));
  CHECK(!at::allclose(f.vision_qk.at(2).first, q));  // layer 2's own weights, not layer 1's
  CHECK(!f.vision_qk.at(0).first.defined());          // only where asked
}

TEST_CASE("pruners: prumerge_plus: adaptive on the golden model keeps outliers + samples + 1", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  VisionTowerRequest request;
  request.qk_layers = {2};
  const ImageFeatures f = model->encode_vision(ref.get("pixel_values"), request);
  const at::Tensor attention = prumerge_cls_attention(f.vision_qk[2].first, f.vision_qk[2].second);
  const at::Tensor kept = prumerge_plus_select(attention);
  auto pruner = make_pruner("prumerge_plus", Budget::parse(""));
  pruner->resolve(model->config());
  Session session;
  const PrunedPrefill out =
      run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"), session, false, 1);
  REQUIRE(out.kept.size() == 1);
  const int64_t k = kept.size(0);
  CHECK(out.kept[0].second.size(0) == k + 1);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>(3, k + 1));
  // kept_vision: the kept patches and, for the extra row, the smallest patch index not kept.
  const at::Tensor recorded = at::cat({kept, at::full({1}, smallest_unused_index(kept, 576), at::kLong)});
  CHECK(at::equal(out.kept[0].second, std::get<0>(recorded.sort())));
  const at::Tensor merged = prumerge_merge(f.vision_features, f.vision_qk[2].second.narrow(0, 1, 576), attention,
                                           kept, 32);
  CHECK(at::allclose(out.image.image_embeds, model->project(merged)));
}

}  // namespace pb::test
