// Parity of the LLaVA-1.5 forward pass with the original authors' reference outputs (fp32), and the
// accuracy of bf16 compute against the same references.
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include "golden_case.h"
#include "models/attention_recorder.h"
#include "models/llava.h"

namespace pb::test {
namespace {

struct ModelCase {
  const char* model;
  const char* file;
};
const ModelCase kCases[] = {
    {"llava15-tiny", "case0.safetensors"},
    {"llava15-tiny", "case1.safetensors"},
    {"llava15-tiny-gqa", "case0.safetensors"},
    {"llava15-tiny-gqa", "case1.safetensors"},
};

void check_close(const char* what, const at::Tensor& got, const at::Tensor& want, double rel_tol) {
  INFO(what << ": got " << got.sizes() << " want " << want.sizes());
  REQUIRE(got.sizes() == want.sizes());
  const double diff = max_abs_diff(got, want), scale = max_abs(want);
  INFO(what << ": max|diff| " << diff << " vs max|ref| " << scale);
  CHECK(diff <= rel_tol * scale);
}

void check_abs(const char* what, const at::Tensor& got, const at::Tensor& want, double tol) {
  INFO(what << ": got " << got.sizes() << " want " << want.sizes());
  REQUIRE(got.sizes() == want.sizes());
  const double diff = max_abs_diff(got, want);
  INFO(what << ": max|diff| " << diff);
  CHECK(diff <= tol);
}

}  // namespace

TEST_CASE("parity: fp32 forward equals the reference on every golden case", "[model][parity]") {
  c10::InferenceMode guard;
  for (const ModelCase& mc : kCases) {
    DYNAMIC_SECTION(mc.model << "/" << mc.file) {
      const LlavaModel model(LlavaModelImpl::load(golden_path(mc.model), ModelOptions{}));
      const GoldenCase ref(golden_path(std::string(mc.model) + "/" + mc.file));
      std::set<int64_t> all_layers;
      for (int64_t l = 0; l < 8; ++l) all_layers.insert(l);
      const ImageFeatures image = model->encode_image(ref.get("pixel_values"), all_layers);
      check_close("vision_features", image.vision_features, ref.get("vision_features"), 1e-4);
      check_close("image_embeds", image.image_embeds, ref.get("image_embeds"), 1e-4);
      // The tower runs only the layers the feature layer needs: the reference's CLS rows say how many.
      const at::Tensor cls_ref = ref.get("vision_cls_attention");  // [layers run, H, 1+P]
      REQUIRE(static_cast<int64_t>(image.vision_attentions.size()) == cls_ref.size(0));
      std::vector<at::Tensor> cls_rows;
      for (const at::Tensor& a : image.vision_attentions) cls_rows.push_back(a.select(1, 0));
      check_abs("vision_cls_attention", at::stack(cls_rows), cls_ref, 1e-5);

      LastRowAttentionRecorder attention;
      Session session;
      const at::Tensor logits = model->prefill(model->splice(ref.ids("input_ids"), image.image_embeds), session,
                                               &attention, /*all_logits=*/true, /*reserve=*/8);
      check_close("logits", logits, ref.get("logits"), 1e-4);
      check_abs("lm_last_row_attention", at::stack(attention.rows), ref.get("lm_last_row_attention"), 1e-5);
      const GreedyResult gen = greedy_decode(*model, session, logits[-1], 8, std::nullopt);
      CHECK(gen.tokens == ref.ids("generated"));
    }
  }
}

TEST_CASE("parity: bf16 logits stay within the issue's cosine and teacher-forced argmax bounds",
          "[model][parity]") {
  c10::InferenceMode guard;
  for (const ModelCase& mc : kCases) {
    DYNAMIC_SECTION(mc.model << "/" << mc.file) {
      ModelOptions options;
      options.dtype = c10::kBFloat16;
      const LlavaModel model(LlavaModelImpl::load(golden_path(mc.model), options));
      const GoldenCase ref(golden_path(std::string(mc.model) + "/" + mc.file));
      const ImageFeatures image = model->encode_image(ref.get("pixel_values"));
      Session session;
      const at::Tensor logits =
          model->prefill(model->splice(ref.ids("input_ids"), image.image_embeds), session, nullptr, true, 8);
      const at::Tensor want = ref.get("logits");
      const at::Tensor cosine = at::cosine_similarity(logits.to(at::kDouble), want.to(at::kDouble), /*dim=*/1);
      INFO("min cosine " << cosine.min().item<double>() << ", mean " << cosine.mean().item<double>());
      CHECK(cosine.min().item<double>() >= 0.995);
      CHECK(cosine.mean().item<double>() >= 0.999);

      // Teacher forcing: feed the reference tokens back; where the reference's top-1/top-2 margin
      // exceeds 0.5 the bf16 argmax must agree.
      const std::vector<int64_t> tokens = ref.ids("generated");
      const at::Tensor margins = ref.get("generated_margin");
      at::Tensor step_logits = logits[-1];
      for (size_t i = 0; i < tokens.size(); ++i) {
        if (margins[static_cast<int64_t>(i)].item<double>() > 0.5) {
          INFO("step " << i);
          CHECK(step_logits.argmax().item<int64_t>() == tokens[i]);
        }
        if (i + 1 < tokens.size()) step_logits = model->decode_step(session, tokens[i]);
      }
    }
  }
}

}  // namespace pb::test
