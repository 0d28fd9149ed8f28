// LLaVA-HR parity with the original authors' code (tests/data/golden/llava-hr-tiny: luogen1996/LLaVA-HR
// MultiPathCLIPVisionTower with its vendored timm ConvNeXt, fp32): vision features, projector output
// and the last 16 logit rows within 1e-4 x max|reference|, last-row attention within 1e-5, on both
// golden images; and what loading checks and what the tower refuses.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "core/error.h"
#include "golden_case.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "io/model_config.h"
#include "models/attention_recorder.h"
#include "models/llava.h"
#include "pipeline/model_inputs.h"
#include "spec/model_spec.h"

namespace pb::test {
namespace {

double rel(const at::Tensor& got, const at::Tensor& want) { return max_abs_diff(got, want) / max_abs(want); }

// [3, 1024, 1024]: the golden padded, resized PNG, CLIP-normalised.
at::Tensor hr_pixels(const std::string& png) {
  return pixel_values_from_chw(normalize_clip(load_image_rgb(golden_path(png))), 1024);
}

}  // namespace

TEST_CASE("llava-hr: vision features, embeddings, logits and attention equal the reference on every golden image",
          "[model][parity][llava_hr]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava-hr-tiny"), ModelOptions{}));
  REQUIRE(model->image_tokens() == 1024);
  const nlohmann::json cases = read_json(golden_path("llava-hr-tiny/cases.json"))["cases"];
  REQUIRE(cases.size() == 2);
  for (const auto& c : cases) {
    const std::string image = c["image"];
    DYNAMIC_SECTION(image) {
      const GoldenCase ref(golden_path("llava-hr-tiny/" + c["file"].get<std::string>()));
      const ImageFeatures f = model->encode_image(hr_pixels(c["pixel_source"]));
      const at::Tensor want_vision = ref.get("vision_features"), want_embeds = ref.get("image_embeds");
      REQUIRE(f.vision_features.sizes() == want_vision.sizes());
      REQUIRE(f.image_embeds.sizes() == want_embeds.sizes());
      REQUIRE(f.image_embeds.size(0) == c["image_tokens"].get<int64_t>());
      const double vision = rel(f.vision_features, want_vision), embeds = rel(f.image_embeds, want_embeds);

      LastRowAttentionRecorder attention;
      Session session;
      const std::vector<int64_t> ids = ref.ids("input_ids");
      const at::Tensor logits =
          model->prefill(model->splice(ids, f.image_embeds), session, &attention, /*all_logits=*/true, /*reserve=*/0);
      const at::Tensor want_logits = ref.get("logits_last");
      const at::Tensor got_logits = logits.narrow(0, logits.size(0) - want_logits.size(0), want_logits.size(0));
      const double logit = rel(got_logits, want_logits);
      const at::Tensor want_attention = ref.get("lm_last_row_attention");
      const at::Tensor got_attention = at::stack(attention.rows);
      REQUIRE(got_attention.sizes() == want_attention.sizes());
      const double attn = max_abs_diff(got_attention, want_attention);
      // Printed so the figures can be quoted (max|diff| / max|ref|; attention: max|diff|).
      std::cout << "llava-hr " << image << ": vision_features " << vision << ", image_embeds " << embeds
                << ", logits_last " << logit << ", lm_last_row_attention " << attn << "\n";
      CHECK(vision <= 1e-4);
      CHECK(embeds <= 1e-4);
      CHECK(logit <= 1e-4);
      CHECK(attn <= 1e-5);
    }
  }
}

// The bf16 bounds of LLaVA-1.5's golden bf16 test (tests/model/test_parity.cpp), on the vision features
// too. Measured on an AVX2-only EPYC: min cosine 0.9986 / 0.9983 (vision features) and 0.9991 / 0.9991
// (last 16 logit rows, mean 0.9996 / 0.9995) for fruits / messi5.
TEST_CASE("llava-hr: bf16 compute stays close to the fp32 reference", "[model][parity][llava_hr]") {
  c10::InferenceMode guard;
  ModelOptions options;
  options.dtype = c10::kBFloat16;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava-hr-tiny"), options));
  const nlohmann::json cases = read_json(golden_path("llava-hr-tiny/cases.json"))["cases"];
  for (const auto& c : cases) {
    const std::string image = c["image"];
    DYNAMIC_SECTION(image) {
      const GoldenCase ref(golden_path("llava-hr-tiny/" + c["file"].get<std::string>()));
      const ImageFeatures f = model->encode_image(hr_pixels(c["pixel_source"]));
      const at::Tensor vision_cos = at::cosine_similarity(f.vision_features.to(at::kDouble),
                                                          ref.get("vision_features").to(at::kDouble), /*dim=*/1);
      Session session;
      const at::Tensor logits = model->prefill(model->splice(ref.ids("input_ids"), f.image_embeds), session, nullptr,
                                               /*all_logits=*/true, /*reserve=*/0);
      const at::Tensor want = ref.get("logits_last");
      const at::Tensor got = logits.narrow(0, logits.size(0) - want.size(0), want.size(0));
      const at::Tensor logit_cos = at::cosine_similarity(got.to(at::kDouble), want.to(at::kDouble), /*dim=*/1);
      std::cout << "llava-hr bf16 " << image << ": vision_features min cosine " << vision_cos.min().item<double>()
                << ", logits_last min cosine " << logit_cos.min().item<double>() << ", mean "
                << logit_cos.mean().item<double>() << "\n";
      CHECK(vision_cos.min().item<double>() >= 0.995);
      CHECK(logit_cos.min().item<double>() >= 0.995);
      CHECK(logit_cos.mean().item<double>() >= 0.999);
    }
  }
}

TEST_CASE("llava-hr: the ConvNeXt head and CLIP post_layernorm are ignored, anything else unexpected is an error",
          "[model][llava_hr]") {
  const LlavaConfig cfg = load_llava_config(golden_path("llava-hr-tiny"));
  const LlavaModel model(cfg, ModelOptions{});
  std::set<std::string> names;
  for (const auto& item : model->named_parameters(/*recurse=*/true)) names.insert(item.key());
  CHECK(names.count("vision_tower.slow_vision_tower.stages.3.blocks.0.weight") == 1);  // layer scale
  CHECK(names.count("vision_tower.align_stages_latent.2.gate.2.weight") == 1);
  CHECK(names.count("vision_tower.align_stages.0.slow_proj.weight") == 1);
  CHECK(names.count("vision_tower.fast_vision_tower.encoder.layers.3.mlp.fc2.bias") == 1);  // every layer runs
  for (const std::string& n : names) {
    CHECK(n.find("slow_vision_tower.head.") == std::string::npos);
    CHECK(n.find("post_layernorm") == std::string::npos);
  }
  // freeze_vision: no S2F adapters, so their tensors become unexpected.
  nlohmann::json raw = cfg.raw;
  raw["freeze_vision"] = true;
  LlavaModel frozen(parse_llava_config(raw, "frozen.json"), ModelOptions{});
  const auto ckpt = std::make_shared<const Checkpoint>(Checkpoint::open(golden_path("llava-hr-tiny")));
  CHECK_THROWS_WITH(load_llava_weights(*frozen, ckpt),
                    Catch::Contains("unexpected tensor(s)") &&
                        Catch::Contains("model.vision_tower.align_stages_latent.0.gate.0.bias"));
  // A wider ConvNeXt than the checkpoint's: every stage tensor is misshaped, named with both shapes.
  raw = cfg.raw;
  raw["slow_vision_config"]["dims"] = {16, 32, 48, 80};
  LlavaModel wide(parse_llava_config(raw, "wide.json"), ModelOptions{});
  CHECK_THROWS_WITH(load_llava_weights(*wide, ckpt),
                    Catch::Contains("misshaped") &&
                        Catch::Contains("model.vision_tower.slow_vision_tower.vision_tower.stages.3.blocks.0.weight"));
}

TEST_CASE("llava-hr: the tower takes only [3, 1024, 1024] and has no vision attention to give", "[model][llava_hr]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava-hr-tiny"), ModelOptions{}));
  CHECK_THROWS_WITH(model->encode_image(at::zeros({3, 336, 336})),
                    Catch::Contains("LLaVA-HR pixel_values must be [B, 3, 1024, 1024]"));
  CHECK_THROWS_WITH(model->encode_vision(at::zeros({3, 1024, 1024}), std::set<int64_t>{0}),
                    Catch::Contains("no vision attention"));
  CHECK(image_tokens_per_image(model->config()) == 1024);
  CHECK(model_image_size(model->config()) == 1024);
  CHECK(image_grid_side(model->config()) == 32);
}

}  // namespace pb::test
