// The exact convention and the closed forms under every convention: hand-computed counts for the
// golden tiny configs, GQA, in-layer token drops, and cross-checks with pruners.md §6.2.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "flops/flops.h"
#include "flops/visual_tokens.h"
#include "flops_test_util.h"

namespace pb::test {

TEST_CASE("flops: linear and attention closed forms", "[flops]") {
  CHECK(linear_flops(1, 2, 3) == 12);  // 2 FLOPs per multiply-add
  CHECK(linear_flops(0, 5, 7) == 0);
  TextConfig t;  // d 8, m 20, 2 heads of 4, 1 KV head (GQA)
  t.hidden_size = 8;
  t.intermediate_size = 20;
  t.num_attention_heads = 2;
  t.num_key_value_heads = 1;
  t.head_dim = 4;
  const DecoderLayerMacs m = decoder_layer_macs(t, /*rows_in=*/3, /*rows_out=*/2, /*context=*/5, /*mlp_matrices=*/3);
  CHECK(m.qkv == 3 * 8 * (8 + 4 + 4));  // q 8 wide, k and v 4 wide each
  CHECK(m.attention == 2 * 3 * 5 * 8);  // QK^T and AV: rows x context x head_dim, per head
  CHECK(m.o_proj == 2 * 8 * 8);         // rows_out only
  CHECK(m.mlp == 3 * 2 * 8 * 20);       // gate, up, down on rows_out
  CHECK(m.total() == 384 + 240 + 128 + 960);
  CHECK(decoder_layer_macs(t, 3, 2, 5, 2).mlp == 2 * 2 * 8 * 20);
  CHECK(llama_layer_flops(t, 3, 5) == 2 * decoder_layer_macs(t, 3, 3, 5, 3).total());
}

TEST_CASE("flops: exact count of the golden tiny LLaVA-1.5 by hand (4 text + 576 image tokens)", "[flops]") {
  const LlavaConfig cfg = tiny();  // LLM d 128, m 344, 3 layers, 4 heads (MHA), vocab 1024;
                                   // CLIP 336/14 d 64, m 256, 3 layers, feature layer -2, CLS dropped
  const FlopsBreakdown b = exact_flops(cfg, 4, 576);
  // Decoder layer, n = 580 rows attending to all 580 keys (multiply-adds):
  //   q, k, v, o  4 x 580*128*128 = 4 x 9,502,720 = 38,010,880
  //   QK^T + AV   2 x 580*580*128              =   86,118,400
  //   SwiGLU      3 x 580*128*344              =   76,615,680
  //   sum 200,744,960 MACs = 401,489,920 FLOPs; x 3 layers = 1,204,469,760
  REQUIRE(b.llm_prefill_layers.size() == 3);
  for (double l : b.llm_prefill_layers) CHECK(l == 401489920.0);
  CHECK(b.llm_prefill == 1204469760.0);
  // LM head, last position only: 2 x 128*1024 = 262,144.
  CHECK(b.lm_head == 262144.0);
  // Vision: patch embedding 2 x 576*(3*14*14)*64 = 43,352,064; layers run: 2 of 3 (layer -2);
  // per layer, T = 577 with CLS: 4 x 577*64*64 = 9,453,568; 2 x 577*577*64 = 42,614,912;
  // 2 x 577*64*256 = 18,907,136; sum 70,975,616 MACs = 141,951,232 FLOPs.
  // 43,352,064 + 2 x 141,951,232 = 327,254,528.
  CHECK(b.vision == 327254528.0);
  // Projector (mlp2x_gelu) on all 576 tokens: 2 x (576*64*128 + 576*128*128) = 28,311,552.
  CHECK(b.projector == 28311552.0);
  // Decode, first generated token (context 581): per layer 4 x 128*128 + 2 x 581*128 + 3 x 128*344
  // = 65,536 + 148,736 + 132,096 = 346,368 MACs = 692,736 FLOPs; x 3 + LM head = 2,340,352.
  CHECK(b.decode_per_token == 2340352.0);
  CHECK(b.total_prefill() == 327254528.0 + 28311552.0 + 1204469760.0 + 262144.0);
}

TEST_CASE("flops: exact count of the golden tiny GQA config by hand (3 text + 577 image tokens)", "[flops]") {
  const LlavaConfig cfg = tiny_gqa();  // 4 heads, 2 KV heads; feature layer -1, strategy "full"
  REQUIRE(nominal_visual_tokens(cfg) == 577);
  const FlopsBreakdown b = exact_flops(cfg, 3, 577);
  // n = 580: q and o 2 x 580*128*128 = 19,005,440; k and v 64 wide: 2 x 580*128*64 = 9,502,720;
  // QK^T + AV 86,118,400 (every query head); SwiGLU 76,615,680. Sum 191,242,240 MACs.
  for (double l : b.llm_prefill_layers) CHECK(l == 2 * 191242240.0);
  // All 3 tower layers run; the projector sees 577 tokens: 2 x (577*64*128 + 577*128*128).
  CHECK(b.vision == 43352064.0 + 3 * 141951232.0);
  CHECK(b.projector == 2 * (577.0 * 64 * 128 + 577.0 * 128 * 128));
}

TEST_CASE("flops: an in-layer entry counts Q/K/V and attention at in, o_proj and MLP at after_attn", "[flops]") {
  const LlavaConfig cfg = tiny();
  // Layer with 4 text tokens, 576 visual tokens entering and 100 left after attention:
  // rows_in 580, rows_out 104. MACs: 3 x 580*128*128 + 2 x 580*580*128 + 104*128*128 + 3 x 104*128*344
  //   = 28,508,160 + 86,118,400 + 1,703,936 + 13,737,984 = 130,068,480 -> 260,136,960 FLOPs.
  CHECK(decoder_layer_flops(cfg, 4, {576, 100}, FlopsConvention::kExact) == 260136960.0);
  const DecoderLayerMacs in = decoder_layer_macs(cfg.text, 580, 580, 580, 3);
  const DecoderLayerMacs out = decoder_layer_macs(cfg.text, 104, 104, 104, 3);
  CHECK(decoder_layer_flops(cfg, 4, {576, 100}, FlopsConvention::kExact) ==
        2 * (in.qkv + in.attention + out.o_proj + out.mlp));
  // FastV form: MAC = 1 FLOP, 2 MLP matrices, text counted.
  const DecoderLayerMacs in2 = decoder_layer_macs(cfg.text, 580, 580, 580, 2);
  const DecoderLayerMacs out2 = decoder_layer_macs(cfg.text, 104, 104, 104, 2);
  CHECK(decoder_layer_flops(cfg, 4, {576, 100}, FlopsConvention::kFastV) ==
        in2.qkv + in2.attention + out2.o_proj + out2.mlp);
  // FitPrune form: image tokens only (FitPrune statistical_analysis.py: 3vd^2 + 2v^2d before the
  // drop, v'd^2 + 3v'dm after it).
  const double d = 128, m = 344;
  CHECK(decoder_layer_flops(cfg, 4, {576, 100}, FlopsConvention::kFitPrune) ==
        3 * 576 * d * d + 2 * 576.0 * 576 * d + 100 * d * d + 3 * 100 * d * m);
  // The layer sits between the unpruned and the fully pruned counts.
  CHECK(decoder_layer_flops(cfg, 4, {576, 100}, FlopsConvention::kExact) <
        decoder_layer_flops(cfg, 4, {576, 576}, FlopsConvention::kExact));
  CHECK(decoder_layer_flops(cfg, 4, {576, 100}, FlopsConvention::kExact) >
        decoder_layer_flops(cfg, 4, {100, 100}, FlopsConvention::kExact));
}

TEST_CASE("flops: exact decode attends to each layer's KV cache, including in-layer drops", "[flops]") {
  const LlavaConfig cfg = tiny();
  // Layer 0 keeps its 576 cached tokens even though 476 are dropped inside it (FitPrune, pruners.md
  // §0.7); layers 1 and 2 cache 100.
  const FlopsBreakdown b = exact_flops(cfg, 4, std::vector<LayerTokens>{{576, 100}, {100, 100}, {100, 100}});
  CHECK(b.decode_per_token == llama_layer_flops(cfg.text, 1, 4 + 576 + 1) +
                                  2 * llama_layer_flops(cfg.text, 1, 4 + 100 + 1) + b.lm_head);
  // Vision and projector do not depend on the schedule (pruners run after the projector).
  const FlopsBreakdown full = exact_flops(cfg, 4, 576);
  CHECK(b.vision == full.vision);
  CHECK(b.projector == full.projector);
}

TEST_CASE("flops: exact LLaVA-1.5-7B agrees with pruners.md §6.2", "[flops]") {
  const LlavaConfig cfg = llava15_7b();
  const FlopsBreakdown b = exact_flops(cfg, 60, 576);
  // MHA: exact = 2 x the all-token SwiGLU form, 4.225 T MACs -> 8.45 T FLOPs.
  CHECK(sci(b.llm_prefill / 2, 3) == "4.225e+12");
  // Projector 1024 -> 4096 -> 4096 on 576 tokens: 12.08 GMACs.
  CHECK(sci(b.projector / 2, 3) == "1.208e+10");
  // Decode at context 637 without the LM head: about 6.6 GMACs (32 x (4d^2 + 3dm + 2 ctx d)).
  CHECK(sci((b.decode_per_token - b.lm_head) / 2, 1) == "6.6e+09");
  // CLIP-L/336: 190.6 GMACs for all 24 layers; 23 run (layer -2), plus the patch embedding
  // (576 x 588 x 1024 MACs).
  const double per_layer = (b.vision / 2 - 576.0 * 588 * 1024) / 23;
  CHECK(sci(24 * per_layer, 3) == "1.906e+11");
}

TEST_CASE("flops: LLaVA-NeXT visual-token counts follow the pinpoints", "[flops]") {
  const LlavaConfig next = llava_next_7b();
  CHECK(vision_crops(next) == 5);               // base + 2x2 tiles of 672x672
  CHECK(nominal_visual_tokens(next) == 2880);   // 5 x 576
  CHECK(max_visual_tokens(next) == 576 + 48 * 48 + 48);
  const LlavaConfig v15 = llava15_7b();
  CHECK(vision_crops(v15) == 1);
  CHECK(nominal_visual_tokens(v15) == 576);
  CHECK(max_visual_tokens(v15) == 576);
  // The vision tower runs once per crop.
  CHECK(exact_flops(next, 60, 2880).vision == 5 * exact_flops(v15, 60, 576).vision);
}

TEST_CASE("flops: exact count of the golden tiny LLaVA-HR by hand: both vision branches and the adapters",
          "[flops][llava_hr]") {
  const LlavaConfig cfg = tiny_hr();  // CLIP d 64, m 256, 4 layers at 448 (32x32, no CLS); ConvNeXt 16/32/48/64 x 1
  REQUIRE(nominal_visual_tokens(cfg) == 1024);
  const FlopsBreakdown b = exact_flops(cfg, 4, 1024);
  // CLIP: patch embedding 2 x 1024*588*64 = 77,070,336; per layer (T = 1024, CLS dropped before the
  // layers) 2 x (4 x 1024*64*64 + 2 x 1024*1024*64 + 2 x 1024*64*256) = 369,098,752; all 4 layers run.
  CHECK(b.vision_fast == 77070336.0 + 4 * 369098752.0);
  // ConvNeXt at 1024 (2 FLOPs per MAC): stem 256^2*48*16 -> 100,663,296; stage 0 (256^2, C 16): 7x7
  // depthwise 49C + MLP 8C^2 per position -> 371,195,904; stage 1 (downsample 128^2*64*32, C 32)
  // 386,924,544; stage 2 (64^2*128*48, C 48) 220,594,176; stage 3 (32^2*192*64, C 64) 98,697,216.
  CHECK(b.vision_slow == 100663296.0 + 371195904.0 + 386924544.0 + 220594176.0 + 98697216.0);
  // S2F x 3: 1x1 convs 2 x 1024*64*64, depthwise 1024*64*49, fast 1x1 1024*64*64, gate 128*32 + 32
  // = 15,798,304 MACs each; MultiPathAlign 2 x 1024*64*64. 2 x (3 x 15,798,304 + 8,388,608).
  CHECK(b.vision_adapters == 111567040.0);
  CHECK(b.vision == b.vision_fast + b.vision_slow + b.vision_adapters);
  // Projector (mlp2x_gelu) on all 1024 tokens: 2 x (1024*64*128 + 1024*128*128).
  CHECK(b.projector == 50331648.0);
  // freeze_vision: no S2F adapters, the final MultiPathAlign stays.
  LlavaConfig frozen = cfg;
  frozen.hr.adapters = false;
  CHECK(exact_flops(frozen, 4, 1024).vision_adapters == 16777216.0);
  // Other families leave the parts at 0.
  CHECK(exact_flops(tiny(), 4, 576).vision_slow == 0);
}

TEST_CASE("flops: LLaVA-HR-7B vision, ConvNeXt counts agree with timm's published GMACs", "[flops][llava_hr]") {
  // timm's model cards (huggingface.co/timm/convnext_tiny.fb_in1k, convnext_large.fb_in22k_ft_in1k) give
  // 4.47 and 34.4 GMACs at 224; ours leave out norms, activations and the head (under 1%).
  ConvNextConfig tiny_cn;
  tiny_cn.depths = {3, 3, 9, 3};
  tiny_cn.dims = {96, 192, 384, 768};
  CHECK(convnext_flops(tiny_cn, 224) / 2 / 4.47e9 == Approx(1.0).epsilon(0.01));
  CHECK(convnext_flops(ConvNextConfig{}, 224) / 2 / 34.4e9 == Approx(1.0).epsilon(0.01));
  const LlavaConfig hr = llava_hr_7b();
  const FlopsBreakdown b = exact_flops(hr, 60, 1024);
  // ConvNeXt-L at 1024: 718.05 GMACs; CLIP-L at 448 on 1024 tokens, all 24 layers.
  CHECK(sci(b.vision_slow, 4) == "1.4361e+12");
  CHECK(b.vision_fast == Approx(2.0 * (1024.0 * 588 * 1024 + 24 * (4 * 1024.0 * 1024 * 1024 + 2 * 1024.0 * 1024 * 1024 +
                                                               2 * 1024.0 * 1024 * 4096))));
  // The adapters are small beside either branch; the LLM sees 1024 visual tokens.
  CHECK(b.vision_adapters < 0.02 * b.vision);
  CHECK(exact_flops(hr, 60, 1024).llm_prefill > exact_flops(llava15_7b(), 60, 576).llm_prefill);
}

TEST_CASE("flops: llm_prefill_flops rejects malformed schedules from code", "[flops]") {
  const LlavaConfig cfg = tiny();
  CHECK_THROWS_AS(llm_prefill_flops(cfg, 4, uniform_schedule(2, 576), FlopsConvention::kExact), Error);
  CHECK_THROWS_AS(llm_prefill_flops(cfg, 4, {{5, 6}, {5, 5}, {5, 5}}, FlopsConvention::kFastV), Error);
  CHECK_THROWS_AS(llm_prefill_flops(cfg, 4, {{-1, -1}, {0, 0}, {0, 0}}, FlopsConvention::kFitPrune), Error);
  CHECK_THROWS_AS(llm_prefill_flops(cfg, -1, uniform_schedule(3, 5), FlopsConvention::kExact), Error);
  CHECK(llm_prefill_flops(cfg, 0, uniform_schedule(3, 0), FlopsConvention::kFitPrune) == 0);
}

}  // namespace pb::test
