// ToMe (llmc's bipartite soft matching inside CLIP) on hand-built inputs, its schedule, and the
// tower hook on the golden model.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>
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

namespace {

// Records the keys each layer hands the hook and changes nothing.
class KeyRecorder : public VisionLayerHook {
 public:
  std::vector<at::Tensor> keys;
  int64_t began = 0;
  void begin(int64_t tokens) override { began = tokens; }
  at::Tensor after_attention(int64_t, const at::Tensor&, const at::Tensor& k) override {
    keys.push_back(k);
    return {};
  }
};

// Merges with tome_merge by a fixed schedule and follows each row's group as a set of tower rows.
class GroupTracker : public VisionLayerHook {
 public:
  std::vector<int64_t> schedule;
  std::vector<std::set<int64_t>> groups;
  void begin(int64_t tokens) override {
    groups.assign(static_cast<size_t>(tokens), {});
    for (int64_t i = 0; i < tokens; ++i) groups[static_cast<size_t>(i)].insert(i);
  }
  at::Tensor after_attention(int64_t layer, const at::Tensor& hidden, const at::Tensor& keys) override {
    const TomeMerge m = tome_merge(hidden.squeeze(0), keys.squeeze(0).mean(0), schedule[static_cast<size_t>(layer)]);
    std::vector<std::set<int64_t>> next(static_cast<size_t>(m.hidden.size(0)));
    for (size_t i = 0; i < groups.size(); ++i) {
      const auto to = static_cast<size_t>(m.target[static_cast<int64_t>(i)].item<int64_t>());
      next[to].insert(groups[i].begin(), groups[i].end());
    }
    groups = next;
    return m.hidden.unsqueeze(0);
  }
};

}  // namespace

TEST_CASE("pruners: tome: a hook that merges nothing leaves the golden tower bit for bit, and sees its keys",
          "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  KeyRecorder recorder;
  VisionTowerRequest request;
  request.hook = &recorder;
  request.qk_layers = {0, 1};
  const ImageFeatures hooked = model->encode_vision(ref.get("pixel_values"), request);
  const ImageFeatures plain = model->encode_vision(ref.get("pixel_values"));
  CHECK(at::equal(hooked.vision_features, plain.vision_features));
  CHECK(recorder.began == 577);
  REQUIRE(recorder.keys.size() == 2);  // the two layers LLaVA runs
  for (size_t l = 0; l < 2; ++l) {
    // [1, H, T, hd] from the hook against the q/k path's [T, D] k of the same layer.
    const at::Tensor k = hooked.vision_qk[l].second.view({577, 4, 16}).transpose(0, 1);
    CHECK(at::equal(recorder.keys[l].squeeze(0), k));
  }
}

TEST_CASE("pruners: tome: on the golden model the rows follow the merges to the budget", "[pruners]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  auto pruner = make_pruner("tome", Budget::parse("tokens:192"));
  CHECK(pruner->resolve(model->config()).at("r_per_layer") == std::vector<int64_t>{192, 192});
  Session session;
  const PrunedPrefill out =
      run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"), session, false, 1);
  REQUIRE(out.kept.size() == 1);
  CHECK(out.kept[0].second.size(0) == 192);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>(3, 192));
  CHECK(out.image.vision_features.size(0) == 192);
  CHECK(out.image_tokens == 576);
  // Reference: the same merges through a hook that tracks whole groups as sets; each row records
  // the smallest patch in its group.
  GroupTracker tracker;
  tracker.schedule = {192, 192};
  VisionTowerRequest request;
  request.hook = &tracker;
  const ImageFeatures reference = model->encode_vision(ref.get("pixel_values"), request);
  CHECK(at::equal(out.image.vision_features, reference.vision_features));
  std::vector<int64_t> firsts;
  for (size_t row = 1; row < tracker.groups.size(); ++row) firsts.push_back(*tracker.groups[row].begin() - 1);
  CHECK(*tracker.groups[0].begin() == 0);
  CHECK(tracker.groups[0].size() == 1);  // CLS never merges
  std::sort(firsts.begin(), firsts.end());
  CHECK(at::equal(out.kept[0].second, longs(firsts)));
  size_t members = 0;
  for (const auto& g : tracker.groups) members += g.size();
  CHECK(members == 577);
}

}  // namespace pb::test
