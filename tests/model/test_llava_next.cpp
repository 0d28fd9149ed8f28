// LLaVA-NeXT parity with the original authors' code (tests/data/golden/llava-next-tiny: haotian-liu/LLaVA
// anyres preprocessing and spatial_unpad packing, fp32): packed image embeddings and the last 16 logit
// rows within 1e-4 x max|reference|, last-row attention within 1e-5, on every golden image; and the
// layout of the packed rows (base first, one image_newline closing every grid row).
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "golden_case.h"
#include "image/anyres.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "models/attention_recorder.h"
#include "models/llava.h"
#include "pipeline/model_inputs.h"

namespace pb::test {
namespace {

// [tiles, 3, S, S]: our anyres tiles of the golden image, CLIP-normalised.
at::Tensor tile_pixels(const cv::Mat& rgb, const AnyresLayout& layout) {
  std::vector<at::Tensor> tiles;
  for (const cv::Mat& tile : anyres_tiles(rgb, layout)) tiles.push_back(pixel_values_from_chw(normalize_clip(tile), 336));
  return at::stack(tiles);
}

double rel(const at::Tensor& got, const at::Tensor& want) { return max_abs_diff(got, want) / max_abs(want); }

}  // namespace

TEST_CASE("llava-next: packed embeddings, logits and attention equal the reference on every golden image",
          "[model][parity][llava_next]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava-next-tiny"), ModelOptions{}));
  REQUIRE(model->image_newline().defined());
  const nlohmann::json cases = read_json(golden_path("llava-next-tiny/cases.json"))["cases"];
  REQUIRE(cases.size() == 4);
  for (const auto& c : cases) {
    const std::string image = c["image"];
    DYNAMIC_SECTION(image) {
      const GoldenCase ref(golden_path("llava-next-tiny/" + c["file"].get<std::string>()));
      const cv::Mat rgb = load_image_rgb(golden_path(image));
      const std::vector<int64_t> size_wh = ref.ids("image_size_wh");
      REQUIRE(size_wh == std::vector<int64_t>{rgb.cols, rgb.rows});
      const AnyresLayout layout =
          select_anyres_layout(rgb.cols, rgb.rows, anyres_pinpoints(model->config()), AnyresConvention::kOriginal);
      const AnyresFeatures f = model->encode_anyres(tile_pixels(rgb, layout), rgb.cols, rgb.rows, layout);
      const at::Tensor want_embeds = ref.get("image_embeds_packed");
      REQUIRE(f.image_embeds.size(0) == c["image_tokens"].get<int64_t>());
      REQUIRE(f.image_embeds.sizes() == want_embeds.sizes());
      INFO("image_embeds_packed max|diff|/max|ref| " << rel(f.image_embeds, want_embeds));
      CHECK(rel(f.image_embeds, want_embeds) <= 1e-4);

      LastRowAttentionRecorder attention;
      Session session;
      const at::Tensor logits = model->prefill(model->splice(ref.ids("input_ids"), f.image_embeds), session,
                                               &attention, /*all_logits=*/true, /*reserve=*/0);
      REQUIRE(logits.size(0) == c["sequence_length"].get<int64_t>());
      const at::Tensor want_logits = ref.get("logits_last");
      const at::Tensor got_logits = logits.narrow(0, logits.size(0) - want_logits.size(0), want_logits.size(0));
      INFO("logits_last max|diff|/max|ref| " << rel(got_logits, want_logits));
      CHECK(rel(got_logits, want_logits) <= 1e-4);
      const double attention_diff = max_abs_diff(at::stack(attention.rows), ref.get("lm_last_row_attention"));
      INFO("lm_last_row_attention max|diff| " << attention_diff);
      CHECK(attention_diff <= 1e-5);
    }
  }
}

TEST_CASE("llava-next: packed rows are the base tile, then grid rows each closed by image_newline",
          "[model][llava_next]") {
  c10::InferenceMode guard;
  const LlavaModel model(LlavaModelImpl::load(golden_path("llava-next-tiny"), ModelOptions{}));
  // messi5.jpg, 548x342: 672x672, a 2x2 grid, wider than tall, so rows are unpadded (cols stay 48).
  const cv::Mat rgb = load_image_rgb(golden_path("images/messi5.jpg"));
  const AnyresLayout layout =
      select_anyres_layout(rgb.cols, rgb.rows, anyres_pinpoints(model->config()), AnyresConvention::kOriginal);
  const AnyresFeatures f = model->encode_anyres(tile_pixels(rgb, layout), rgb.cols, rgb.rows, layout);
  CHECK(f.grid_cols == 48);
  CHECK(f.grid_rows < 48);
  REQUIRE(static_cast<int64_t>(f.source.size()) == 576 + f.grid_rows * (f.grid_cols + 1));
  for (int64_t i = 0; i < 576; ++i) CHECK(f.source[static_cast<size_t>(i)] == i);
  const int64_t top = (48 - f.grid_rows) / 2;
  for (int64_t r = 0; r < f.grid_rows; ++r) {
    for (int64_t c = 0; c <= f.grid_cols; ++c) {
      const int64_t got = f.source[static_cast<size_t>(576 + r * (f.grid_cols + 1) + c)];
      if (c == f.grid_cols) {
        CHECK(got == -1);  // image_newline
        continue;
      }
      // Map row top + r, column c lies in tile 1 + (row / 24) * 2 + col / 24 at patch (row % 24, col % 24).
      const int64_t row = top + r;
      CHECK(got == (1 + (row / 24) * 2 + c / 24) * 576 + (row % 24) * 24 + c % 24);
    }
  }
  const at::Tensor newline_row = f.image_embeds[576 + f.grid_cols];
  CHECK(at::equal(newline_row, model->image_newline()));
}

TEST_CASE("llava-next: a llava model refuses anyres tiles, and the tile count must match the layout",
          "[model][llava_next]") {
  c10::InferenceMode guard;
  const LlavaModel next(LlavaModelImpl::load(golden_path("llava-next-tiny"), ModelOptions{}));
  const AnyresLayout layout{672, 672, 2, 2};
  CHECK_THROWS_WITH(next->encode_anyres(at::zeros({3, 3, 336, 336}), 640, 480, layout),
                    Catch::Contains("expected [5, 3, S, S] tiles"));
  const LlavaModel llava(LlavaModelImpl::load(golden_path("llava15-tiny"), ModelOptions{}));
  CHECK_THROWS_WITH(llava->encode_anyres(at::zeros({5, 3, 336, 336}), 640, 480, layout),
                    Catch::Contains("need a llava_next model"));
}

}  // namespace pb::test
