// PyramidDrop: stage counts (pruners.md §7 items 2 and 11), budget mapping, re-indexed positions,
// the next-layer probe, and the kept set against the golden unpruned attention.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "flops/flops.h"
#include "golden_case.h"
#include "io/model_config.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pdrop.h"
#include "pruners/pruner.h"
#include "test_paths.h"

namespace pb::test {
namespace {

LlavaConfig llava15_7b() { return load_llava_config(std::string(PB_SOURCE_DIR) + "/configs/models/llava-1.5-7b-hf.json"); }

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

// Records, after every layer, the positions of the rows (after the method's own after_layer ran).
class PositionRecorder : public PrefillObserver {
 public:
  void after_layer(int64_t /*layer*/, SequenceState& state, const at::Tensor& /*attention*/) override {
    positions.push_back(state.positions.clone());
  }
  std::vector<at::Tensor> positions;
};

}  // namespace

TEST_CASE("pdrop: 576 -> 288 -> 144 -> 72 at layers 8/16/24 with lambda 0.5 (item 11)", "[pruners][pdrop]") {
  CHECK(pdrop_stage_counts(576, 0.5, 3) == std::vector<int64_t>{288, 144, 72});
  CHECK(pdrop_stage_counts(576, 0.4, 3) == std::vector<int64_t>{230, 92, 36});  // int floors of 230.4, 92.16, 36.864
  auto pruner = make_pruner("pdrop", Budget::parse(""));
  const nlohmann::json r = pruner->resolve(llava15_7b());
  CHECK(r.at("stage_tokens") == nlohmann::json({288, 144, 72}));
  std::vector<int64_t> per_layer = r.at("visual_tokens_per_layer").get<std::vector<int64_t>>();
  REQUIRE(per_layer.size() == 32);
  for (int64_t l = 0; l < 32; ++l) CHECK(per_layer[static_cast<size_t>(l)] == (576 >> (l / 8)));
  CHECK(pruner->nominal_kept() == 72);
}

TEST_CASE("pdrop: lambda 0.5 costs 1.777e12 under the image-only SwiGLU convention (item 2)", "[pruners][pdrop]") {
  const LlavaConfig cfg = llava15_7b();
  auto pruner = make_pruner("pdrop", Budget::parse(""));
  const nlohmann::json r = pruner->resolve(cfg);
  const std::vector<LayerTokens> s = parse_schedule(r.at("visual_tokens_per_layer"), 32, 576, "pdrop");
  CHECK(sci(llm_prefill_flops(cfg, 0, s, FlopsConvention::kFitPrune)) == "1.777e+12");  // PDrop "1.78"
}

TEST_CASE("pdrop: a token budget maps to the largest lambda whose mean visual count fits", "[pruners][pdrop]") {
  const LlavaConfig cfg = llava15_7b();
  // With boundaries 8/16/24 the first 8 layers alone average 144 tokens: 128 and 64 need an earlier
  // first boundary.
  CHECK_THROWS_AS(make_pruner("pdrop", Budget::parse("tokens:128"))->resolve(cfg), Error);
  for (const auto& [spec, n] : std::vector<std::pair<std::string, int64_t>>{
           {"pdrop", 192}, {"pdrop:layers=2/8/16", 128}, {"pdrop:layers=2/8/16", 64}}) {
    auto pruner = make_pruner(spec, Budget::parse("tokens:" + std::to_string(n)));
    const nlohmann::json r = pruner->resolve(cfg);
    const double lambda = r.at("lambda").get<double>();
    const std::vector<int64_t> boundaries = r.at("layers").get<std::vector<int64_t>>();
    const auto mean = [&](double l) {
      double sum = 0;
      for (const LayerTokens& t : pdrop_schedule(32, 576, boundaries, l)) sum += static_cast<double>(t.in);
      return sum / 32;
    };
    INFO(spec << " " << n << " -> lambda " << lambda);
    CHECK(mean(lambda) <= static_cast<double>(n));
    CHECK(mean(lambda + 1e-3) > static_cast<double>(n));  // no larger lambda fits
  }
  CHECK_THROWS_AS(make_pruner("pdrop:lambda=0.5", Budget::parse("tokens:64")), Error);
  CHECK_THROWS_AS(make_pruner("pdrop:layers=8/8", Budget::parse("")), Error);
  auto outside = make_pruner("pdrop", Budget::parse(""));
  CHECK_THROWS_AS(outside->resolve(load_llava_config(golden_path("llava15-tiny"))), Error);  // 3 layers
}

TEST_CASE("pdrop: the probe's last-query attention is what the next layer computes", "[pruners][pdrop]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  // Probe layer l+1 after layer l, then compare with layer l+1's own last attention row.
  class Compare : public PrefillObserver {
   public:
    bool wants_attention(int64_t) const override { return true; }
    void after_layer(int64_t layer, SequenceState& state, const at::Tensor& attention) override {
      if (probed.defined()) diff = std::max(diff, max_abs_diff(probed, attention.select(1, attention.size(1) - 1)));
      probed = layer + 1 < 3 ? state.probe->attention_of_last_query(layer + 1, state) : at::Tensor();
    }
    at::Tensor probed;
    double diff = -1;
  } compare;
  Session session;
  model->prefill(model->splice(ref.ids("input_ids"), model->encode_image(ref.get("pixel_values")).image_embeds),
                 session, &compare, false, 1);
  CHECK(compare.diff >= 0);
  CHECK(compare.diff < 1e-6);
}

TEST_CASE("pdrop: stage 1 keeps the top of the next layer's last-row attention, positions re-indexed",
          "[pruners][pdrop]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  const std::vector<int64_t> ids = ref.ids("input_ids");
  const auto image_begin = static_cast<int64_t>(std::find(ids.begin(), ids.end(), 1000) - ids.begin());
  auto pruner = make_pruner("pdrop:layers=1/2", Budget::parse(""));
  pruner->resolve(model->config());
  PositionRecorder positions;
  Session session;
  const PrunedPrefill out =
      run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ids, session, false, 1, &positions);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 288, 144});
  REQUIRE(out.kept.size() == 2);
  CHECK(out.kept[0].first == "kept_layer1");
  CHECK(out.kept[1].first == "kept_layer2");
  // The first drop sees the unpruned sequence: layer 1's last attention row of the golden run,
  // head mean over the image span, top 288.
  const at::Tensor scores = ref.get("lm_last_row_attention")[1].mean(0).narrow(0, image_begin, 576);
  const at::Tensor expected = std::get<0>(std::get<1>(at::topk(scores.to(at::kDouble), 288)).sort());
  CHECK(at::equal(out.kept[0].second, expected));
  CHECK(out.kept[1].second.numel() == 144);
  // Positions are 0..len-1 after each drop (after layers 0 and 1), and stay so after layer 2.
  REQUIRE(positions.positions.size() == 3);
  const int64_t t = out.prompt.embeds.size(0);
  CHECK(at::equal(positions.positions[0], at::arange(t - 288, at::kLong)));
  CHECK(at::equal(positions.positions[1], at::arange(t - 432, at::kLong)));
  CHECK(at::equal(positions.positions[2], at::arange(t - 432, at::kLong)));
  CHECK(session.next_position == t - 432);
}

}  // namespace pb::test
