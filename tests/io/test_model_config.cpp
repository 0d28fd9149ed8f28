// LLaVA config.json: published and golden configs, transformers' defaults, the flat original
// format, the resolved-config hash, and one test per kind of bad input.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "io/model_config.h"
#include "io_test_util.h"
#include "test_paths.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using pb::test::TempDir;
using pb::test::write_bytes;

namespace {

std::string golden(const std::string& rel) { return std::string(PB_TEST_DATA) + "/golden/" + rel; }

pb::LlavaConfig parse(const json& j) { return pb::parse_llava_config(j, "test.json"); }

// The published LLaVA-1.5 original config (liuhaotian/llava-v1.5-7b), abridged to what matters.
json original_llava15() {
  return json::parse(R"({
    "architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava_llama",
    "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 32, "rms_norm_eps": 1e-05, "vocab_size": 32000, "max_position_embeddings": 4096,
    "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "rope_scaling": null,
    "tie_word_embeddings": false, "torch_dtype": "float16", "image_aspect_ratio": "pad",
    "mm_hidden_size": 1024, "mm_projector_type": "mlp2x_gelu", "mm_vision_select_feature": "patch",
    "mm_vision_select_layer": -2, "mm_vision_tower": "openai/clip-vit-large-patch14-336",
    "mm_use_im_start_end": false, "mm_use_im_patch_token": false, "mm_patch_merge_type": "flat",
    "tokenizer_model_max_length": 2048, "use_mm_proj": true
  })");
}

// Writes `text` as a config file, loads it, and expects an error naming the file and `fragments`.
void expect_config_error(const std::string& text, const std::vector<std::string>& fragments) {
  TempDir dir;
  const std::string path = write_bytes(dir.file("config.json"), text);
  try {
    pb::load_llava_config(path);
    FAIL("accepted: " << text);
  } catch (const pb::Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK_THAT(msg, Contains(path));
    for (const std::string& f : fragments) CHECK_THAT(msg, Contains(f));
  }
}

// A valid llava config with `patch` merged in (null values remove keys).
std::string llava_with(const json& patch) {
  json j = json::parse(R"({"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava",
                            "text_config": {"model_type": "llama", "hidden_size": 128, "num_attention_heads": 4,
                                            "intermediate_size": 344, "num_hidden_layers": 2, "vocab_size": 1024},
                            "vision_config": {"model_type": "clip_vision_model", "hidden_size": 64,
                                              "num_attention_heads": 4, "num_hidden_layers": 3,
                                              "image_size": 336, "patch_size": 14}})");
  j.merge_patch(patch);
  return j.dump(2);
}

}  // namespace

TEST_CASE("io/config: llava-1.5-7b-hf gets transformers' LLaMA and CLIP defaults", "[io][config]") {
  const std::string path = golden("configs/llava-1.5-7b-hf.json");
  const pb::LlavaConfig c = pb::load_llava_config(path);
  CHECK(c.source == path);
  CHECK(c.model_type == "llava");
  CHECK(c.architectures == std::vector<std::string>{"LlavaForConditionalGeneration"});
  // text_config omits these: LlamaConfig defaults.
  CHECK(c.text.model_type == "llama");
  CHECK(c.text.hidden_size == 4096);
  CHECK(c.text.intermediate_size == 11008);
  CHECK(c.text.num_hidden_layers == 32);
  CHECK(c.text.num_attention_heads == 32);
  CHECK(c.text.num_key_value_heads == 32);
  CHECK(c.text.head_dim == 128);
  CHECK(c.text.rope_theta == 10000.0);
  CHECK(c.text.hidden_act == "silu");
  CHECK_FALSE(c.text.attention_bias);
  CHECK_FALSE(c.text.mlp_bias);
  CHECK(c.text.bos_token_id == 1);
  CHECK(c.text.eos_token_id == 2);
  // ... and these it sets.
  CHECK(c.text.vocab_size == 32064);
  CHECK(c.text.rms_norm_eps == 1e-5);
  CHECK(c.text.max_position_embeddings == 4096);
  // vision_config: CLIP ViT-L/14-336, hidden_act and eps from CLIPVisionConfig defaults.
  CHECK(c.vision.model_type == "clip_vision_model");
  CHECK(c.vision.hidden_size == 1024);
  CHECK(c.vision.intermediate_size == 4096);
  CHECK(c.vision.num_hidden_layers == 24);
  CHECK(c.vision.num_attention_heads == 16);
  CHECK(c.vision.image_size == 336);
  CHECK(c.vision.patch_size == 14);
  CHECK(c.vision.num_channels == 3);
  CHECK(c.vision.projection_dim == 768);
  CHECK(c.vision.hidden_act == "quick_gelu");
  CHECK(c.vision.layer_norm_eps == 1e-5);
  // top level
  CHECK(c.image_token_index == 32000);
  CHECK(c.projector_hidden_act == "gelu");
  CHECK(c.projector_type == "mlp2x_gelu");
  CHECK(c.vision_feature_layers == std::vector<int64_t>{-2});
  CHECK(c.vision_feature_select_strategy == "default");
  CHECK(c.image_seq_length == 576);
  CHECK(c.multimodal_projector_bias);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.image_grid_pinpoints.empty());
  CHECK(c.torch_dtype == "float16");
  CHECK(c.raw["pad_token_id"] == 32001);
}

TEST_CASE("io/config: llava-v1.6-vicuna-7b-hf loads as llava_next with its pinpoints", "[io][config]") {
  const pb::LlavaConfig c = pb::load_llava_config(golden("configs/llava-v1.6-vicuna-7b-hf.json"));
  CHECK(c.model_type == "llava_next");
  CHECK(c.architectures == std::vector<std::string>{"LlavaNextForConditionalGeneration"});
  const std::vector<std::array<int64_t, 2>> pins{{336, 672}, {672, 336}, {672, 672}, {1008, 336}, {336, 1008}};
  CHECK(c.image_grid_pinpoints == pins);
  CHECK(c.text.hidden_size == 4096);
  CHECK(c.text.vocab_size == 32064);
  CHECK(c.text.rms_norm_eps == 1e-5);
  // The published text_config leaves these to LlamaConfig's defaults: the Vicuna-7B shape.
  CHECK(c.text.num_hidden_layers == 32);
  CHECK(c.text.num_attention_heads == 32);
  CHECK(c.text.num_key_value_heads == 32);
  CHECK(c.text.intermediate_size == 11008);
  CHECK(c.text.head_dim == 128);
  CHECK(c.vision.hidden_size == 1024);
  CHECK(c.vision.intermediate_size == 4096);
  CHECK(c.vision.num_hidden_layers == 24);
  CHECK(c.vision.num_attention_heads == 16);
  CHECK(c.vision.image_size == 336);
  CHECK(c.vision.patch_size == 14);
  CHECK(c.vision.hidden_act == "quick_gelu");
  CHECK(c.vision_feature_layers == std::vector<int64_t>{-2});
  CHECK(c.vision_feature_select_strategy == "default");
}

TEST_CASE("io/config: golden tiny configs, MHA and GQA", "[io][config]") {
  const pb::LlavaConfig mha = pb::load_llava_config(golden("llava15-tiny"));  // folder -> config.json
  CHECK(mha.source == golden("llava15-tiny") + "/config.json");
  CHECK(mha.text.hidden_size == 128);
  CHECK(mha.text.intermediate_size == 344);
  CHECK(mha.text.num_hidden_layers == 3);
  CHECK(mha.text.num_attention_heads == 4);
  CHECK(mha.text.num_key_value_heads == 4);
  CHECK(mha.text.head_dim == 32);
  CHECK(mha.text.vocab_size == 1024);
  CHECK(mha.text.rms_norm_eps == 1e-5);
  CHECK(mha.vision.hidden_size == 64);
  CHECK(mha.vision.num_hidden_layers == 3);
  CHECK(mha.vision.projection_dim == 32);
  CHECK(mha.image_token_index == 1000);
  CHECK(mha.vision_feature_layers == std::vector<int64_t>{-2});
  CHECK(mha.vision_feature_select_strategy == "default");
  CHECK(mha.torch_dtype == "float32");

  const pb::LlavaConfig gqa = pb::load_llava_config(golden("llava15-tiny-gqa/config.json"));
  CHECK(gqa.text.num_attention_heads == 4);
  CHECK(gqa.text.num_key_value_heads == 2);
  CHECK(gqa.text.head_dim == 32);
  CHECK(gqa.text.rope_theta == 500000.0);
  CHECK(gqa.text.rms_norm_eps == 1e-6);
  CHECK(gqa.vision_feature_select_strategy == "full");
  CHECK(gqa.vision_feature_layers == std::vector<int64_t>{-1});
  CHECK(gqa.torch_dtype == "bfloat16");
  CHECK(gqa.hash() != mha.hash());
}

TEST_CASE("io/config: absent keys and sub-configs take transformers' defaults", "[io][config]") {
  // No sub-configs: LlamaConfig() and the CLIP ViT-L/14-336 that LlavaConfig builds.
  const pb::LlavaConfig bare = parse({{"model_type", "llava"}});
  CHECK(bare.text.vocab_size == 32000);
  CHECK(bare.text.rms_norm_eps == 1e-6);
  CHECK(bare.text.max_position_embeddings == 2048);
  CHECK(bare.text.num_key_value_heads == 32);
  CHECK(bare.text.head_dim == 128);
  CHECK(bare.vision.hidden_size == 1024);
  CHECK(bare.vision.intermediate_size == 4096);
  CHECK(bare.vision.num_hidden_layers == 24);
  CHECK(bare.vision.num_attention_heads == 16);
  CHECK(bare.vision.image_size == 336);
  CHECK(bare.vision.patch_size == 14);
  CHECK(bare.vision.projection_dim == 768);
  CHECK(bare.image_grid_pinpoints.empty());
  CHECK(bare.torch_dtype.empty());

  // An empty vision_config: plain CLIPVisionConfig defaults.
  const pb::LlavaConfig empty_vision = parse({{"model_type", "llava"}, {"vision_config", json::object()}});
  CHECK(empty_vision.vision.hidden_size == 768);
  CHECK(empty_vision.vision.intermediate_size == 3072);
  CHECK(empty_vision.vision.num_hidden_layers == 12);
  CHECK(empty_vision.vision.num_attention_heads == 12);
  CHECK(empty_vision.vision.image_size == 224);
  CHECK(empty_vision.vision.patch_size == 32);
  CHECK(empty_vision.vision.projection_dim == 512);

  CHECK(parse({{"model_type", "llava_next"}}).image_grid_pinpoints.size() == 5);
  CHECK(parse({{"model_type", "llava_next"}, {"image_grid_pinpoints", nullptr}}).image_grid_pinpoints.size() == 5);

  const pb::LlavaConfig c = parse(json::parse(R"({"model_type": "llava", "image_token_id": 7,
      "vision_feature_layer": [-2, -5, 3], "text_config": {"num_key_value_heads": null, "head_dim": 64,
      "tie_word_embeddings": true, "eos_token_id": [5, 6], "bos_token_id": null,
      "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}, "dtype": "bfloat16"})"));
  CHECK(c.image_token_index == 7);
  CHECK(c.vision_feature_layers == std::vector<int64_t>{-2, -5, 3});
  CHECK(c.text.num_key_value_heads == 32);
  CHECK(c.text.head_dim == 64);
  CHECK(c.tie_word_embeddings);  // inherited from text_config
  CHECK(c.text.eos_token_id == 5);
  CHECK(c.text.bos_token_id == -1);
  CHECK(c.text.rope_theta == 1e6);
  CHECK(c.torch_dtype == "bfloat16");
}

TEST_CASE("io/config: hash is stable and depends only on resolved values", "[io][config]") {
  const pb::LlavaConfig a = pb::load_llava_config(golden("configs/llava-1.5-7b-hf.json"));
  CHECK(a.hash().size() == 16);
  CHECK(a.hash().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a.hash() == pb::load_llava_config(golden("configs/llava-1.5-7b-hf.json")).hash());

  // Same values written differently: defaults spelled out, unknown keys, other key order.
  json j = a.raw;
  j["text_config"]["hidden_size"] = 4096;
  j["text_config"]["num_key_value_heads"] = 32;
  j["vision_config"]["hidden_act"] = "quick_gelu";
  j["some_new_key"] = {1, 2, 3};
  j.erase("ignore_index");
  CHECK(pb::parse_llava_config(j, "elsewhere.json").hash() == a.hash());

  j["text_config"]["rms_norm_eps"] = 1e-6;
  CHECK(pb::parse_llava_config(j, "x").hash() != a.hash());
  // Pinned: a change here changes every result's config id; bump "llava-config-v1" if intended.
  CHECK(a.hash() == "a1f3c814a61fdfbc");
}

TEST_CASE("io/config: original flat LLaVA config (LlavaLlamaForCausalLM)", "[io][config]") {
  const pb::LlavaConfig c = parse(original_llava15());
  CHECK(c.model_type == "llava_llama");
  CHECK(c.text.hidden_size == 4096);
  CHECK(c.text.num_hidden_layers == 32);
  CHECK(c.text.vocab_size == 32000);
  CHECK(c.text.rms_norm_eps == 1e-5);
  CHECK(c.vision.hidden_size == 1024);
  CHECK(c.vision.num_hidden_layers == 24);
  CHECK(c.vision.image_size == 336);
  CHECK(c.vision.patch_size == 14);
  CHECK(c.projector_type == "mlp2x_gelu");
  CHECK(c.vision_feature_layers == std::vector<int64_t>{-2});
  CHECK(c.vision_feature_select_strategy == "default");
  CHECK(c.image_token_index == -200);
  CHECK(c.image_seq_length == 576);
  CHECK(c.torch_dtype == "float16");

  json older = original_llava15();
  older["model_type"] = "llava";  // older exports
  older["mm_vision_select_feature"] = "cls_patch";
  older.erase("mm_projector_type");
  const pb::LlavaConfig o = parse(older);
  CHECK(o.model_type == "llava_llama");
  CHECK(o.vision_feature_select_strategy == "full");
  CHECK(o.image_seq_length == 577);
  CHECK(o.projector_type == "linear");  // the original builder's default

  // Tiny checkpoints describe their tower with a vision_config block.
  json tiny = original_llava15();
  tiny["mm_vision_tower"] = "tiny-clip";
  tiny["mm_hidden_size"] = 64;
  tiny["vision_config"] = {{"hidden_size", 64}, {"num_attention_heads", 1}, {"num_hidden_layers", 4},
                           {"image_size", 336}, {"patch_size", 14}};
  CHECK(parse(tiny).vision.num_hidden_layers == 4);
}

// A LLaVA-HR config as train.py writes it (favor123/llava-hr-7b-sft-1024 shape), abridged.
json original_llava_hr() {
  json j = original_llava15();
  j["is_multipath_encoder"] = true;
  j["input_image_size"] = 1024;
  j["vision_tower_slow"] = "convnext_large_mlp.clip_laion2b_ft_320";
  j["freeze_vision"] = false;
  return j;
}

TEST_CASE("io/config: LLaVA-HR flat configs (is_multipath_encoder), golden tiny and known towers",
          "[io][config][llava_hr]") {
  const pb::LlavaConfig tiny = pb::load_llava_config(golden("llava-hr-tiny"));
  CHECK(tiny.model_type == "llava_hr");
  CHECK(tiny.architectures == std::vector<std::string>{"LlavaLlamaForCausalLM"});
  CHECK(tiny.text.hidden_size == 128);
  CHECK(tiny.text.num_hidden_layers == 3);
  CHECK(tiny.vision.hidden_size == 64);
  CHECK(tiny.vision.num_hidden_layers == 4);
  CHECK(tiny.vision.image_size == 336);
  CHECK(tiny.projector_type == "mlp2x_gelu");
  CHECK(tiny.image_token_index == -200);
  CHECK(tiny.hr.input_image_size == 1024);
  CHECK(tiny.hr.fast_image_size() == 448);
  CHECK(tiny.hr.slow_grid() == 32);
  CHECK(tiny.image_seq_length == 1024);  // 32 x 32 CLIP patches at 448
  CHECK(tiny.hr.slow_tower == "tiny-convnext");
  CHECK(tiny.hr.slow.depths == std::array<int64_t, 4>{1, 1, 1, 1});
  CHECK(tiny.hr.slow.dims == std::array<int64_t, 4>{16, 32, 48, 64});
  CHECK(tiny.hr.slow.norm_eps == 1e-6);
  CHECK(tiny.hr.adapters);
  CHECK(tiny.to_json().contains("hr"));

  const pb::LlavaConfig large = parse(original_llava_hr());
  CHECK(large.model_type == "llava_hr");
  CHECK(large.vision.hidden_size == 1024);
  CHECK(large.vision.num_hidden_layers == 24);
  CHECK(large.vision.image_size == 336);
  CHECK(large.hr.slow.depths == std::array<int64_t, 4>{3, 3, 27, 3});
  CHECK(large.hr.slow.dims == std::array<int64_t, 4>{192, 384, 768, 1536});
  CHECK(large.hr.slow.norm_eps == 1e-6);
  CHECK(large.image_seq_length == 1024);

  json x = original_llava_hr();  // LLaVA-HR-X
  x["vision_tower_slow"] = "convnext_xxlarge.clip_laion2b_soup";
  const pb::LlavaConfig xxl = parse(x);
  CHECK(xxl.hr.slow.depths == std::array<int64_t, 4>{3, 4, 30, 3});
  CHECK(xxl.hr.slow.dims == std::array<int64_t, 4>{384, 768, 1536, 3072});
  CHECK(xxl.hr.slow.norm_eps == 1e-5);
  x["vision_tower_slow"] = "convnext_xxlarge";  // without timm's pretrained tag
  CHECK(parse(x).hr.slow.dims[3] == 3072);
  CHECK(parse(x).hash() != xxl.hash());  // the name is part of the resolved config

  // The training scripts' other sizes: 768 keeps the CLIP branch at 336 (24 x 24 = 576 tokens).
  json s768 = original_llava_hr();
  s768["input_image_size"] = 768;
  CHECK(parse(s768).hr.fast_image_size() == 336);
  CHECK(parse(s768).image_seq_length == 576);
  json frozen = original_llava_hr();
  frozen["freeze_vision"] = true;  // no S2F adapters (enable_adapter = not freeze_vision)
  CHECK_FALSE(parse(frozen).hr.adapters);
  // Without is_multipath_encoder it is plain original LLaVA; the HR block does not enter the hash.
  json plain = original_llava_hr();
  plain["is_multipath_encoder"] = false;
  CHECK(parse(plain).model_type == "llava_llama");
  CHECK_FALSE(parse(plain).to_json().contains("hr"));
}

// ---- bad input ----

TEST_CASE("io/config bad input: invalid JSON gives the byte offset", "[io][config][bad]") {
  // The "}" after the stray comma is byte 23.
  expect_config_error("{\"model_type\": \"llava\",}", {"invalid JSON at byte 23", "line 1"});
  expect_config_error("{\"model_type\": \"llava\",\n \"text_config\": {\"hidden_size\": 4096\n}",
                      {"invalid JSON at byte", "line 3"});
}

TEST_CASE("io/config bad input: field of the wrong type", "[io][config][bad]") {
  expect_config_error(llava_with({{"text_config", {{"hidden_size", "big"}}}}),
                      {"text_config.hidden_size", "expected an integer", "\"big\""});
  expect_config_error(llava_with({{"text_config", {{"rms_norm_eps", "1e-5"}}}}), {"text_config.rms_norm_eps"});
  expect_config_error(llava_with({{"text_config", {{"hidden_size", 4096.5}}}}), {"text_config.hidden_size"});
  expect_config_error(llava_with({{"vision_config", {{"image_size", {336}}}}}), {"vision_config.image_size"});
  expect_config_error(llava_with({{"tie_word_embeddings", "false"}}), {"tie_word_embeddings", "true or false"});
  expect_config_error(llava_with({{"text_config", 5}}), {"text_config", "expected an object"});
  expect_config_error(llava_with({{"architectures", "LlavaForConditionalGeneration"}}), {"architectures"});
  expect_config_error(llava_with({{"image_grid_pinpoints", {{336}}}}), {"image_grid_pinpoints"});
  expect_config_error(llava_with({{"vision_feature_layer", "-2"}}), {"vision_feature_layer"});
  expect_config_error("[1, 2]", {"expected an object"});
}

TEST_CASE("io/config bad input: sizes out of range", "[io][config][bad]") {
  expect_config_error(llava_with({{"text_config", {{"hidden_size", 0}}}}), {"text_config.hidden_size", "positive"});
  expect_config_error(llava_with({{"vision_config", {{"num_hidden_layers", -3}}}}),
                      {"vision_config.num_hidden_layers", "positive"});
  expect_config_error(llava_with({{"text_config", {{"num_attention_heads", 3}}}}),
                      {"text_config.num_attention_heads", "do not divide hidden_size 128"});
  expect_config_error(llava_with({{"text_config", {{"num_key_value_heads", 3}}}}),
                      {"text_config.num_key_value_heads", "do not divide"});
  expect_config_error(llava_with({{"vision_config", {{"num_attention_heads", 5}}}}),
                      {"vision_config.num_attention_heads", "do not divide"});
  expect_config_error(llava_with({{"vision_config", {{"layer_norm_eps", 0}}}}), {"vision_config.layer_norm_eps"});
  expect_config_error(llava_with({{"vision_feature_layer", -5}}), {"vision_feature_layer", "out of range"});
  expect_config_error(llava_with({{"vision_feature_layer", 4}}), {"vision_feature_layer", "out of range"});
  expect_config_error(llava_with({{"image_grid_pinpoints", {{336, 0}}}}), {"image_grid_pinpoints"});
  expect_config_error(llava_with({{"image_token_index", 5}, {"image_token_id", 6}}), {"image_token_id", "contradicts"});
}

TEST_CASE("io/config bad input: unknown model_type", "[io][config][bad]") {
  expect_config_error(llava_with({{"model_type", "qwen2_vl"}, {"architectures", nullptr}}),
                      {"model_type", "'qwen2_vl'"});
  expect_config_error(llava_with({{"model_type", nullptr}}), {"model_type", "missing"});
  expect_config_error(llava_with({{"text_config", {{"model_type", "mistral"}}}}),
                      {"text_config.model_type", "'mistral'"});
  expect_config_error(llava_with({{"vision_config", {{"model_type", "siglip_vision_model"}}}}),
                      {"vision_config.model_type", "'siglip_vision_model'"});
}

TEST_CASE("io/config bad input: unknown architecture", "[io][config][bad]") {
  expect_config_error(llava_with({{"architectures", {"Qwen2VLForConditionalGeneration"}}}),
                      {"architectures", "unknown architecture 'Qwen2VLForConditionalGeneration'"});
  expect_config_error(llava_with({{"architectures", {"LlavaNextForConditionalGeneration"}}}),
                      {"architectures", "does not match model_type 'llava'"});
}

TEST_CASE("io/config bad input: unknown strategy and activations", "[io][config][bad]") {
  expect_config_error(llava_with({{"vision_feature_select_strategy", "cls"}}),
                      {"vision_feature_select_strategy", "'cls'", "default, full"});
  expect_config_error(llava_with({{"projector_hidden_act", "relu"}}), {"projector_hidden_act", "'relu'"});
  expect_config_error(llava_with({{"text_config", {{"hidden_act", "gelu"}}}}), {"text_config.hidden_act", "'gelu'"});
  expect_config_error(llava_with({{"vision_config", {{"hidden_act", "gelu_new"}}}}),
                      {"vision_config.hidden_act", "'gelu_new'"});
  expect_config_error(llava_with({{"text_config", {{"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}}}}),
                      {"text_config.rope_scaling", "'linear'"});
}

TEST_CASE("io/config bad input: flat original config problems", "[io][config][bad]") {
  json j = original_llava15();
  j["mm_vision_tower"] = "google/siglip-so400m-patch14-384";
  expect_config_error(j.dump(), {"mm_vision_tower", "unknown vision tower"});
  j = original_llava15();
  j.erase("mm_vision_select_layer");
  expect_config_error(j.dump(), {"mm_vision_select_layer", "missing"});
  j = original_llava15();
  j["mm_vision_select_feature"] = "cls";
  expect_config_error(j.dump(), {"mm_vision_select_feature", "'cls'"});
  j = original_llava15();
  j["mm_projector_type"] = "mlp3x_gelu";
  expect_config_error(j.dump(), {"mm_projector_type", "'mlp3x_gelu'"});
  j = original_llava15();
  j["mm_hidden_size"] = 768;
  expect_config_error(j.dump(), {"mm_hidden_size", "differs"});
  j = original_llava15();
  j["mm_use_im_start_end"] = true;
  expect_config_error(j.dump(), {"mm_use_im_start_end"});
  j = original_llava15();
  j["architectures"] = {"LlavaForConditionalGeneration"};
  expect_config_error(j.dump(), {"architectures", "does not match"});
}

TEST_CASE("io/config bad input: LLaVA-HR config problems", "[io][config][bad][llava_hr]") {
  json j = original_llava_hr();
  j["vision_tower_slow"] = "resnet50.a1_in1k";
  expect_config_error(j.dump(), {"vision_tower_slow", "unknown ConvNeXt 'resnet50.a1_in1k'", "slow_vision_config"});
  j = original_llava_hr();
  j.erase("vision_tower_slow");
  expect_config_error(j.dump(), {"vision_tower_slow", "missing"});
  j = original_llava_hr();
  j.erase("input_image_size");
  expect_config_error(j.dump(), {"input_image_size", "missing"});
  j = original_llava_hr();
  j["input_image_size"] = 16;
  expect_config_error(j.dump(), {"input_image_size", "too small"});
  j = original_llava_hr();
  j["input_image_size"] = 1000;  // 31 x 31 CLIP grid, 31 x 31 ConvNeXt map: fine
  CHECK(parse(j).image_seq_length == 961);
  j["input_image_size"] = 672;  // CLIP stays at 336 (24 x 24), ConvNeXt gives 21 x 21
  expect_config_error(j.dump(), {"input_image_size", "24x24 CLIP grid", "21x21 ConvNeXt map"});
  j = original_llava_hr();
  j["mm_vision_tower"] = "openai/clip-vit-base-patch16";
  expect_config_error(j.dump(), {"mm_vision_tower", "unknown vision tower"});
  j = original_llava_hr();
  j["slow_vision_config"] = {{"depths", {1, 1, 1}}};
  expect_config_error(j.dump(), {"slow_vision_config.depths", "4 positive integers"});
  j["slow_vision_config"] = {{"dims", {16, 32, 0, 64}}};
  expect_config_error(j.dump(), {"slow_vision_config.dims", "4 positive integers"});
  j["slow_vision_config"] = {{"norm_eps", -1}};
  expect_config_error(j.dump(), {"slow_vision_config.norm_eps", "positive"});
  j = original_llava_hr();
  j["mm_vision_tower"] = "tiny";
  j["mm_hidden_size"] = 64;
  j["vision_config"] = {{"hidden_size", 64}, {"num_attention_heads", 1}, {"num_hidden_layers", 3},
                        {"image_size", 336}, {"patch_size", 14}};
  expect_config_error(j.dump(), {"four equal groups", "3 layers"});
}
