// flops_report(): the JSON `prune-bench flops` prints and `prune-bench run` records.
#include <catch2/catch.hpp>

#include "flops/flops.h"
#include "flops_test_util.h"

using nlohmann::json;

namespace pb::test {

TEST_CASE("flops: exact report of the unpruned tiny model", "[flops]") {
  const LlavaConfig cfg = tiny();
  const json r = flops_report(cfg, 4, uniform_schedule(3, 576), FlopsConvention::kExact);
  CHECK(r["convention"]["name"] == "exact");
  CHECK(r["convention"]["flops_per_multiply_add"] == 2.0);
  CHECK(r["model"]["source"] == cfg.source);
  CHECK(r["model"]["hash"] == cfg.hash());
  CHECK(r["model"]["decoder_layers"] == 3);
  CHECK(r["text_tokens"] == 4);
  CHECK(r["visual_tokens"] == json::parse("[576, 576, 576]"));
  CHECK(r["layer_flops"] == json::parse("[401489920.0, 401489920.0, 401489920.0]"));
  // The hand-computed figures of test_flops_exact.cpp.
  CHECK(r["llm_prefill"] == 1204469760.0);
  CHECK(r["vision"] == 327254528.0);
  CHECK(r["projector"] == 28311552.0);
  CHECK(r["lm_head"] == 262144.0);
  CHECK(r["total"] == 327254528.0 + 28311552.0 + 1204469760.0 + 262144.0);
  CHECK(r["decode_per_token"] == 2340352.0);
  // Unpruned: no reduction keys.
  CHECK_FALSE(r.contains("reduction_vs_unpruned"));
  CHECK_FALSE(r.contains("unpruned"));
}

TEST_CASE("flops: paper-convention reports hold LLM prefill only, with the reduction when pruned", "[flops]") {
  const LlavaConfig cfg = llava15_7b();
  std::vector<LayerTokens> fastv = uniform_schedule(32, 288);
  fastv[0] = fastv[1] = {576, 576};
  const json r = flops_report(cfg, 60, fastv, FlopsConvention::kFastV);
  CHECK(r["convention"]["name"] == "fastv");
  CHECK(r["convention"]["flops_per_multiply_add"] == 1.0);
  for (const char* key : {"vision", "projector", "lm_head", "total", "decode_per_token"}) {
    CHECK_FALSE(r.contains(key));
  }
  CHECK(r["layer_flops"].size() == 32);
  CHECK(sci(r["llm_prefill"].get<double>(), 3) == "1.879e+12");
  CHECK(r["unpruned"]["visual_tokens"] == 576);
  CHECK(sci(r["unpruned"]["llm_prefill"].get<double>(), 3) == "3.307e+12");
  CHECK(fmt::format("{:.3f}", r["reduction_vs_unpruned"].get<double>()) == "0.432");
  // The same under fitprune: PDrop's "2.01".
  const json f = flops_report(cfg, 60, fastv, FlopsConvention::kFitPrune);
  CHECK(sci(f["llm_prefill"].get<double>(), 3) == "2.007e+12");
  CHECK(f["convention"]["counts_text_tokens"] == false);
}

TEST_CASE("flops: exact report of a pruned schedule carries both reductions", "[flops]") {
  const LlavaConfig cfg = tiny();
  const std::vector<LayerTokens> s = {{576, 100}, {100, 100}, {100, 100}};
  const json r = flops_report(cfg, 4, s, FlopsConvention::kExact);
  CHECK(r["visual_tokens"] == json::parse(R"([{"in": 576, "after_attn": 100}, 100, 100])"));
  const FlopsBreakdown p = exact_flops(cfg, 4, s), u = exact_flops(cfg, 4, 576);
  CHECK(r["layer_flops"][0] == 260136960.0);  // test_flops_exact.cpp's in-layer case
  CHECK(r["reduction_vs_unpruned"] == 1.0 - p.llm_prefill / u.llm_prefill);
  CHECK(r["reduction_vs_unpruned_total"] == 1.0 - p.total_prefill() / u.total_prefill());
  CHECK(r["unpruned"]["total"] == u.total_prefill());
  // Pre-LLM pruning (fewer tokens at every layer) also counts as pruned.
  CHECK(flops_report(cfg, 4, uniform_schedule(3, 64), FlopsConvention::kExact).contains("reduction_vs_unpruned"));
  // An explicit unpruned reference (an image with fewer tokens than nominal).
  const json own = flops_report(cfg, 4, uniform_schedule(3, 64), FlopsConvention::kFitPrune, 64);
  CHECK_FALSE(own.contains("reduction_vs_unpruned"));
  const json half = flops_report(cfg, 4, uniform_schedule(3, 32), FlopsConvention::kFitPrune, 64);
  CHECK(half["unpruned"]["visual_tokens"] == 64);
}

}  // namespace pb::test
