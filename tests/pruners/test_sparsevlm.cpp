// SparseVLM: the published schedules and scale/bias pairs (pruners.md §7 item 12), DPC-kNN on
// points with known clusters, text raters, and one pruning step with recycling on a hand-built
// sequence.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "golden_case.h"
#include "io/model_config.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"
#include "pruners/sparsevlm.h"
#include "test_paths.h"

namespace pb::test {

TEST_CASE("sparsevlm: v1.5 schedules and v1 scale/bias pairs (item 12)", "[pruners][sparsevlm]") {
  CHECK(sparsevlm_v15_schedule(192) == std::vector<int64_t>{300, 200, 110});
  CHECK(sparsevlm_v15_schedule(128) == std::vector<int64_t>{303, 110, 36});
  CHECK(sparsevlm_v15_schedule(64) == std::vector<int64_t>{66, 30, 17});
  CHECK_THROWS_AS(sparsevlm_v15_schedule(100), Error);
  CHECK(sparsevlm_v1_scale_bias(192).scale == 13.5);
  CHECK(sparsevlm_v1_scale_bias(192).bias == 0.0);
  CHECK(sparsevlm_v1_scale_bias(128).scale == 9.0);
  CHECK(sparsevlm_v1_scale_bias(128).bias == 6.0);
  CHECK(sparsevlm_v1_scale_bias(64).scale == 0.8);
  CHECK(sparsevlm_v1_scale_bias(64).bias == 0.0);
  CHECK_THROWS_AS(sparsevlm_v1_scale_bias(96), Error);
}

TEST_CASE("sparsevlm: v1.5 resolves to its schedule plus the recycled cluster tokens", "[pruners][sparsevlm]") {
  const LlavaConfig cfg = load_llava_config(std::string(PB_SOURCE_DIR) + "/configs/models/llava-1.5-7b-hf.json");
  auto pruner = make_pruner("sparsevlm", Budget::parse("tokens:64"));
  const nlohmann::json r = pruner->resolve(cfg);
  // After layer 2: 66 kept + clusters of int(510 * 0.3) + 1 = 154 recycled -> 16; after layer 6:
  // 30 + clusters(int(52 * 0.3) + 1 = 16) = 2; after layer 15: 17 + clusters(int(15 * 0.3) + 1 = 5) = 1.
  CHECK(r.at("visual_after_pruning_layers") == nlohmann::json({82, 32, 18}));
  const auto per_layer = r.at("visual_tokens_per_layer").get<std::vector<int64_t>>();
  CHECK(per_layer[2] == 576);
  CHECK(per_layer[3] == 82);
  CHECK(per_layer[7] == 32);
  CHECK(per_layer[16] == 18);
  CHECK(per_layer[31] == 18);
  CHECK(pruner->nominal_kept() == 18);
  auto v1 = make_pruner("sparsevlm:version=1", Budget::parse("tokens:128"));
  const nlohmann::json r1 = v1->resolve(cfg);
  CHECK(r1.at("layers") == nlohmann::json({2, 6, 15, 19}));
  CHECK(r1.at("scale") == 9.0);
  CHECK(r1.at("bias") == 6.0);
}

TEST_CASE("sparsevlm: DPC-kNN finds two well separated groups and averages each", "[pruners][sparsevlm]") {
  // Group A around (0, 0), group B around (10, 10).
  const at::Tensor x = at::tensor({0.0f, 0.0f, 0.1f, 0.0f, 0.0f, 0.2f,                 // A
                                   10.0f, 10.0f, 10.3f, 10.0f, 10.0f, 10.1f, 10.2f, 10.2f})  // B
                           .view({7, 2});
  at::Tensor assignment;
  const at::Tensor merged = sparsevlm_cluster_and_merge(x, 2, &assignment);  // [2, 2]
  const auto a = assignment[0].item<int64_t>(), b = assignment[3].item<int64_t>();
  CHECK(a != b);
  for (int64_t i : {1, 2}) CHECK(assignment[i].item<int64_t>() == a);
  for (int64_t i : {4, 5, 6}) CHECK(assignment[i].item<int64_t>() == b);
  // sum / (count + 1e-6): the plain mean up to the official 1e-6 guard.
  const at::Tensor mean_a = x.narrow(0, 0, 3).sum(0) / (3 + 1e-6);
  const at::Tensor mean_b = x.narrow(0, 3, 4).sum(0) / (4 + 1e-6);
  CHECK(at::allclose(merged[a], mean_a, 0, 1e-6));
  CHECK(at::allclose(merged[b], mean_b, 0, 1e-6));
}

TEST_CASE("sparsevlm: raters are the text tokens above the mean image affinity", "[pruners][sparsevlm]") {
  const at::Tensor image = at::tensor({1.0f, 0.0f, 2.0f, 0.0f}).view({2, 2});
  const at::Tensor text = at::tensor({3.0f, 0.0f, 0.0f, 1.0f, -1.0f, 0.0f}).view({3, 2});
  CHECK(at::equal(sparsevlm_raters(image, text), at::tensor({0}, at::kLong)));
}

TEST_CASE("sparsevlm: one pruning step keeps the top scores and inserts the recycled cluster means",
          "[pruners][sparsevlm]") {
  c10::InferenceMode guard;
  // 1 prefix row, 100 image rows, 2 text rows (t0 aligned with the image rows: the only rater).
  const int64_t v = 100, t = 103;
  at::Tensor hidden = at::zeros({t, 2});
  hidden.narrow(0, 1, v).select(1, 0).fill_(1.0f);             // image rows (1, 0) ...
  for (int64_t i = 66; i <= 71; ++i) hidden[1 + i] = at::tensor({1.0f, 1.0f + 0.01f * static_cast<float>(i - 66)});
  for (int64_t i = 72; i <= 76; ++i) hidden[1 + i] = at::tensor({1.0f, -1.0f - 0.01f * static_cast<float>(i - 72)});
  hidden[101] = at::tensor({1.0f, 0.0f});                       // t0
  SequenceState state;
  state.hidden = hidden;
  state.positions = at::arange(t, at::kLong);
  state.origin = state.positions;
  state.image_begin = 1;
  state.image_len = v;
  // Layer-0 attention [1, T, T]: t0's attention to image i decreases with i.
  at::Tensor attention = at::zeros({1, t, t});
  attention[0][101].narrow(0, 1, v).copy_(at::arange(v, 0, -1, at::kFloat));
  auto pruner = make_pruner("sparsevlm:layers=0/1/2", Budget::parse("tokens:64"));
  pruner->resolve(load_llava_config(golden_path("llava15-tiny")));
  PrefillObserver* observer = pruner->llm_observer();
  observer->before_layers(state);
  REQUIRE(observer->wants_attention(0));
  observer->after_layer(0, state, attention);
  // Kept: images 0..65 (top 66); dropped 66..99, recycled the best int(34 * 0.3) + 1 = 11 (66..76)
  // in int(11 / 10) + 1 = 2 clusters: 66..71 and 72..76.
  CHECK(state.image_len == 68);
  CHECK(state.hidden.size(0) == 1 + 68 + 2);
  CHECK(at::equal(state.positions, at::arange(71, at::kLong)));
  CHECK(at::equal(state.origin.narrow(0, 0, 67), at::arange(67, at::kLong)));
  CHECK(at::equal(state.origin.narrow(0, 67, 2), at::full({2}, -1, at::kLong)));
  const at::Tensor mean_a = hidden.narrow(0, 67, 6).sum(0) / (6 + 1e-6);
  const at::Tensor mean_b = hidden.narrow(0, 73, 5).sum(0) / (5 + 1e-6);
  const at::Tensor inserted = state.hidden.narrow(0, 67, 2);
  const bool a_first = at::allclose(inserted[0], mean_a, 0, 1e-6);
  CHECK(at::allclose(inserted[a_first ? 0 : 1], mean_a, 0, 1e-6));
  CHECK(at::allclose(inserted[a_first ? 1 : 0], mean_b, 0, 1e-6));
  CHECK(at::equal(state.hidden.narrow(0, 69, 2), hidden.narrow(0, 101, 2)));  // text rows follow
}

TEST_CASE("sparsevlm: on the tiny model the kept records hold original indices only", "[pruners][sparsevlm]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  auto pruner = make_pruner("sparsevlm:layers=0/1/2", Budget::parse("tokens:64"));
  pruner->resolve(model->config());
  Session session;
  const PrunedPrefill out =
      run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"), session, false, 1);
  // 576 -> 66 + clusters(int(510 * 0.3) + 1) = 82 -> 30 + clusters(int(52 * 0.3) + 1) = 32.
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 82, 32});
  REQUIRE(out.kept.size() == 3);
  CHECK(out.kept[0].second.numel() == 66);  // the 16 recycled rows are no original token
  CHECK(out.kept[1].second.numel() <= 30);
  CHECK(at::equal(session.final_state.positions, at::arange(session.final_state.hidden.size(0), at::kLong)));
}

}  // namespace pb::test

namespace pb::test {

TEST_CASE("sparsevlm: v1 keeps int(rank * scale + bias) of the rater x image attention", "[pruners][sparsevlm]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  // Recomputes the expected count from layer 0's attention, independently of the pruner.
  class Expect : public PrefillObserver {
   public:
    void before_layers(SequenceState& state) override {
      begin = state.image_begin;
      raters = sparsevlm_raters(state.hidden.narrow(0, begin, 576),
                                state.hidden.narrow(0, begin + 576, state.hidden.size(0) - begin - 576));
    }
    bool wants_attention(int64_t layer) const override { return layer == 0; }
    void after_layer(int64_t layer, SequenceState& state, const at::Tensor& attention) override {
      if (layer != 0) return;
      const at::Tensor relation =
          attention.mean(0).index_select(0, raters + begin + 576).narrow(1, begin, 576);  // [r, 576]
      rank = at::linalg_matrix_rank(relation).item<int64_t>();
      image_len_after = state.image_len;
    }
    int64_t begin = 0, rank = -1, image_len_after = -1;
    at::Tensor raters;
  } expect;
  auto pruner = make_pruner("sparsevlm:version=1,layers=0/1", Budget::parse("tokens:128"));
  pruner->resolve(model->config());
  Session session;
  run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ref.ids("input_ids"), session, false, 1,
                     &expect);
  REQUIRE(expect.raters.numel() > 0);
  REQUIRE(expect.rank > 0);
  INFO("rank " << expect.rank);
  if (expect.rank == 576) {
    CHECK(expect.image_len_after == 576);  // s_flag False: nothing pruned
  } else {
    const int64_t keep = std::min<int64_t>(expect.rank * 9 + 6, 575);  // scale 9, bias 6
    CHECK(expect.image_len_after == keep + sparsevlm_cluster_num(sparsevlm_recycled(576 - keep)));
  }
  CHECK(session.visual_tokens_per_layer[1] == expect.image_len_after);
}

}  // namespace pb::test
