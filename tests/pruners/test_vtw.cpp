// VTW: every visual token withdrawn before layer K, the other rows keep their positions.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "golden_case.h"
#include "io/model_config.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"

namespace pb::test {

TEST_CASE("vtw: layers from K on run without visual tokens, positions kept", "[pruners][vtw]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  const GoldenCase ref(golden_path("llava15-tiny/case0.safetensors"));
  const std::vector<int64_t> ids = ref.ids("input_ids");
  auto pruner = make_pruner("vtw:k=2", Budget::parse(""));
  const nlohmann::json r = pruner->resolve(model->config());
  CHECK(r.at("visual_tokens_per_layer") == nlohmann::json({576, 576, 0}));
  Session session;
  const PrunedPrefill out = run_pruned_prefill(*model, *pruner, "k", ref.get("pixel_values"), ids, session, false, 1);
  const int64_t image_begin = out.prompt.image_begin, t = out.prompt.embeds.size(0);
  CHECK(session.visual_tokens_per_layer == std::vector<int64_t>{576, 576, 0});
  REQUIRE(out.kept.size() == 1);
  CHECK(out.kept[0].first == "kept_layer2");
  CHECK(out.kept[0].second.numel() == 0);
  const at::Tensor expected = at::cat({at::arange(image_begin, at::kLong), at::arange(image_begin + 576, t, at::kLong)});
  CHECK(at::equal(session.final_state.positions, expected));
  CHECK(session.next_position == t);
  CHECK(session.cache.length(1) == t);
  CHECK(session.cache.length(2) == t - 576);
  // The default K is the lmms CLI's 16, beyond the tiny model's 3 layers.
  CHECK_THROWS_AS(make_pruner("vtw", Budget::parse(""))->resolve(model->config()), Error);
  CHECK_THROWS_AS(make_pruner("vtw:k=2", Budget::parse("tokens:64"))->resolve(model->config()), Error);
}

}  // namespace pb::test
