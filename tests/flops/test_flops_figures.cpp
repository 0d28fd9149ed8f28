// The published FLOPs figures of /work/shared/research/pruners.md §7 items 1-5, each to the
// precision the paper (or the recomputation) prints. All are LLM prefill with a multiply-add
// counted as one FLOP: items 1-4 under FitPrune's image-token convention (PyramidDrop's tables use
// the same), item 5 under FastV's all-token convention.
#include <catch2/catch.hpp>

#include <cmath>

#include "flops/flops.h"
#include "flops/visual_tokens.h"
#include "flops_test_util.h"

namespace pb::test {
namespace {

// Stage s (s = 0..3) runs `layers_per_stage` layers at stage_tokens[s] visual tokens.
std::vector<LayerTokens> stage_schedule(const std::vector<int64_t>& stage_tokens, int64_t layers_per_stage) {
  std::vector<LayerTokens> out;
  for (int64_t n : stage_tokens) {
    for (int64_t l = 0; l < layers_per_stage; ++l) out.push_back({n, n});
  }
  return out;
}

// PyramidDrop (Cooperx521/PyramidDrop llava/model/modeling_llama_pdrop.py): stages at layers
// 8/16/24, stage s keeps int(N * lambda^s) image tokens.
std::vector<int64_t> pdrop_stage_tokens(int64_t n, double lambda) {
  std::vector<int64_t> out;
  for (int s = 0; s < 4; ++s) out.push_back(static_cast<int64_t>(static_cast<double>(n) * std::pow(lambda, s)));
  return out;
}

// FastV: layers 0..k-1 at all `n` image tokens, the rest at `keep`.
std::vector<LayerTokens> fastv_schedule(int64_t layers, int64_t k, int64_t n, int64_t keep) {
  std::vector<LayerTokens> out = uniform_schedule(layers, keep);
  for (int64_t l = 0; l < k; ++l) out[static_cast<size_t>(l)] = {n, n};
  return out;
}

constexpr auto kFitPrune = FlopsConvention::kFitPrune;
constexpr auto kFastV = FlopsConvention::kFastV;

}  // namespace

TEST_CASE("flops: item 1, LLaVA-1.5-7B unpruned image-only SwiGLU is 3.817152e12", "[flops]") {
  const LlavaConfig cfg = llava15_7b();
  REQUIRE(cfg.text.hidden_size == 4096);
  REQUIRE(cfg.text.intermediate_size == 11008);
  REQUIRE(cfg.text.num_hidden_layers == 32);
  // Text tokens must not count under FitPrune's convention: any text length gives the same figure.
  for (int64_t text : {0, 60, 500}) {
    const double f = llm_prefill_flops(cfg, text, uniform_schedule(32, 576), kFitPrune);
    CHECK(sci(f, 6) == "3.817152e+12");  // PDrop Table 1 "3.82"
    // FitPrune calculate_origin_flops(): ((576*4096*4096*3 + 576*576*4096 + 576*4096*576 +
    // 576*4096*4096) + 4096*11008*576*3) * 32, evaluated exactly.
    CHECK(f == 3817152184320.0);
  }
}

TEST_CASE("flops: item 2, PyramidDrop lambda 0.5 / 0.4 / 0.6 on LLaVA-1.5-7B", "[flops]") {
  const LlavaConfig cfg = llava15_7b();
  CHECK(pdrop_stage_tokens(576, 0.5) == std::vector<int64_t>{576, 288, 144, 72});
  CHECK(pdrop_stage_tokens(576, 0.4) == std::vector<int64_t>{576, 230, 92, 36});    // 230.4, 92.16, 36.864
  CHECK(pdrop_stage_tokens(576, 0.6) == std::vector<int64_t>{576, 345, 207, 124});  // 345.6, 207.36, 124.416
  const auto pdrop = [&](double lambda) {
    return llm_prefill_flops(cfg, 60, stage_schedule(pdrop_stage_tokens(576, lambda), 8), kFitPrune);
  };
  CHECK(sci(pdrop(0.5), 3) == "1.777e+12");  // PDrop Table 5 "1.78"
  CHECK(sci(pdrop(0.4), 3) == "1.538e+12");  // "1.54"
  CHECK(sci(pdrop(0.6), 3) == "2.060e+12");  // "2.06"
}

TEST_CASE("flops: item 3, FastV K=2 keeping 288 under the image-only convention is 2.007e12", "[flops]") {
  const LlavaConfig cfg = llava15_7b();
  const double f = llm_prefill_flops(cfg, 60, fastv_schedule(32, 2, 576, 288), kFitPrune);
  CHECK(sci(f, 3) == "2.007e+12");  // PDrop Table 5 "2.01"
}

TEST_CASE("flops: item 4, LLaVA-NeXT-7B at the nominal 2880 visual tokens", "[flops]") {
  const LlavaConfig cfg = llava_next_7b();
  REQUIRE(cfg.model_type == "llava_next");
  REQUIRE(cfg.text.hidden_size == 4096);
  REQUIRE(cfg.text.intermediate_size == 11008);
  REQUIRE(cfg.text.num_hidden_layers == 32);
  CHECK(nominal_visual_tokens(cfg) == 2880);
  CHECK(sci(llm_prefill_flops(cfg, 60, uniform_schedule(32, 2880), kFitPrune), 4) == "2.0825e+13");  // "20.8"
  CHECK(pdrop_stage_tokens(2880, 0.4) == std::vector<int64_t>{2880, 1152, 460, 184});
  CHECK(pdrop_stage_tokens(2880, 0.6) == std::vector<int64_t>{2880, 1728, 1036, 622});
  const auto pdrop = [&](double lambda) {
    return llm_prefill_flops(cfg, 60, stage_schedule(pdrop_stage_tokens(2880, lambda), 8), kFitPrune);
  };
  CHECK(sci(pdrop(0.5), 3) == "9.465e+12");  // "9.46" (PDrop Table 5 prints 9.5)
  CHECK(sci(pdrop(0.4), 3) == "8.217e+12");  // "8.22"
  CHECK(sci(pdrop(0.6), 3) == "1.098e+13");  // 10.98 ("11.0")
  const double fastv = llm_prefill_flops(cfg, 60, fastv_schedule(32, 2, 2880, 1440), kFitPrune);
  CHECK(sci(fastv, 3) == "1.055e+13");  // 10.55 ("10.6")
}

TEST_CASE("flops: item 5, FastV's own formula with n = 636 (60 text + 576 image tokens)", "[flops]") {
  const LlavaConfig cfg = llava15_7b();
  const double layer = decoder_layer_flops(cfg, 60, {576, 576}, kFastV);
  CHECK(sci(layer, 4) == "1.0335e+11");  // 103.35 GMACs per layer
  const double unpruned = llm_prefill_flops(cfg, 60, uniform_schedule(32, 576), kFastV);
  CHECK(unpruned == 32 * layer);
  CHECK(sci(unpruned, 3) == "3.307e+12");
  // K = 2, R = 50%: layers 2..31 see n^ = 60 + 288 = 348 tokens.
  const double pruned = llm_prefill_flops(cfg, 60, fastv_schedule(32, 2, 576, 288), kFastV);
  CHECK(sci(pruned, 3) == "1.879e+12");
  CHECK(fmt::format("{:.1f}", 100.0 * (1.0 - pruned / unpruned)) == "43.2");
  // The text tokens do count under FastV: the same schedule with no text is cheaper.
  CHECK(llm_prefill_flops(cfg, 0, uniform_schedule(32, 576), kFastV) < unpruned);
}

TEST_CASE("flops: FitPrune's shipped 60% recipe counts its in-layer deletions as FitPrune does", "[flops]") {
  // pruners.md §1.3 / §7 item 6: ywh187/FitPrune LLaVA_1.5 modeling_llama.py "60" recipe, tokens
  // deleted inside layer l (after its attention). FitPrune's own model gives -59.7%; counting the
  // deletions before the layer instead would give -60.4%.
  const std::vector<int64_t> deleted = {14, 33, 89, 36, 36, 20, 55, 21, 18, 4, 7, 5, 2, 5, 7, 4,
                                        26, 5,  11, 24, 4,  18, 2,  1,  0, 0, 1, 0, 1, 0, 0, 0};
  std::vector<LayerTokens> schedule;
  int64_t v = 576;
  for (int64_t n : deleted) {
    schedule.push_back({v, v - n});
    v -= n;
  }
  CHECK(v == 127);  // 449 deleted
  const LlavaConfig cfg = llava15_7b();
  const double pruned = llm_prefill_flops(cfg, 60, schedule, kFitPrune);
  const double unpruned = llm_prefill_flops(cfg, 60, uniform_schedule(32, 576), kFitPrune);
  CHECK(fmt::format("{:.1f}", 100.0 * (1.0 - pruned / unpruned)) == "59.7");
}

}  // namespace pb::test
