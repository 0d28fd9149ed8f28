// LLaVA-NeXT anyres preprocessing: the golden tiles (made by the original llava/mm_utils.py with PIL)
// bit for bit, with the same chosen resolution, grid and image-token count; the tie-break conventions;
// the token arithmetic on hand-computed cases; bad pinpoints.
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "image/anyres.h"
#include "image/image_io.h"
#include "image_test_util.h"

namespace {

std::vector<std::pair<int, int>> pinpoints_of(const nlohmann::json& list) {
  std::vector<std::pair<int, int>> out;
  for (const auto& p : list) out.emplace_back(p[0].get<int>(), p[1].get<int>());
  return out;
}

// The published llava-v1.6 image_grid_pinpoints.
const std::vector<std::pair<int, int>> kNextPinpoints = {{336, 672}, {672, 336}, {672, 672}, {1008, 336}, {336, 1008}};

}  // namespace

TEST_CASE("anyres: golden tiles, resolution, grid and token count for every golden image", "[image][golden][anyres]") {
  std::ifstream f(pb::test::data_path("golden/anyres/manifest.llava-next-tiny.json"));
  REQUIRE(f.good());
  const nlohmann::json manifest = nlohmann::json::parse(f);
  const auto pinpoints = pinpoints_of(manifest.at("pinpoints_wh"));
  CHECK(pinpoints == kNextPinpoints);
  REQUIRE(manifest.at("cases").size() == 4);
  for (const auto& c : manifest.at("cases")) {
    const std::string image = c.at("image");
    DYNAMIC_SECTION(image) {
      const cv::Mat rgb = pb::load_image_rgb(pb::test::data_path("golden/" + image));
      REQUIRE(rgb.cols == c.at("size_wh")[0].get<int>());
      REQUIRE(rgb.rows == c.at("size_wh")[1].get<int>());
      const pb::AnyresLayout layout =
          pb::select_anyres_layout(rgb.cols, rgb.rows, pinpoints, pb::AnyresConvention::kOriginal);
      CHECK(layout.width == c.at("best_resolution_wh")[0].get<int>());
      CHECK(layout.height == c.at("best_resolution_wh")[1].get<int>());
      CHECK(layout.grid_rows == c.at("grid_rows_cols")[0].get<int>());
      CHECK(layout.grid_cols == c.at("grid_rows_cols")[1].get<int>());
      CHECK(pb::anyres_image_tokens(rgb.cols, rgb.rows, layout, 24) == c.at("image_tokens").get<int64_t>());
      const std::vector<cv::Mat> tiles = pb::anyres_tiles(rgb, layout);
      REQUIRE(tiles.size() == c.at("tiles").size());
      for (size_t k = 0; k < tiles.size(); ++k) {
        const std::string expected_path = c.at("tiles")[k];
        pb::test::require_same_rgb(tiles[k], pb::test::read_expected_rgb(pb::test::data_path("golden/" + expected_path)),
                                   expected_path);
      }
    }
  }
}

TEST_CASE("anyres: exact ties go to the first pinpoint as written (original) or its transpose (hf)", "[image][anyres]") {
  // 300x300: [336, 672] and [672, 336] both keep 300*300 pixels and waste the same.
  const pb::AnyresLayout original = pb::select_anyres_layout(300, 300, kNextPinpoints, pb::AnyresConvention::kOriginal);
  CHECK(original.width == 336);
  CHECK(original.height == 672);
  const pb::AnyresLayout hf = pb::select_anyres_layout(300, 300, kNextPinpoints, pb::AnyresConvention::kHf);
  CHECK(hf.width == 672);
  CHECK(hf.height == 336);
  // Same token count either way for a square image.
  CHECK(pb::anyres_image_tokens(300, 300, original, 24) == pb::anyres_image_tokens(300, 300, hf, 24));
  CHECK(pb::anyres_convention_from_name("hf") == pb::AnyresConvention::kHf);
  CHECK_THROWS_AS(pb::anyres_convention_from_name("HF"), pb::Error);
}

TEST_CASE("anyres: token counts of research/models.md's worked examples", "[image][anyres]") {
  auto tokens = [](int w, int h) {
    return pb::anyres_image_tokens(w, h, pb::select_anyres_layout(w, h, kNextPinpoints, pb::AnyresConvention::kOriginal), 24);
  };
  CHECK(tokens(640, 480) == 576 + 36 * 49);   // 672x672: rows 36, cols 48 -> 2340
  CHECK(tokens(1024, 899) == 576 + 42 * 49);  // the LLaVA radar image: 2634
  CHECK(tokens(2000, 2000) == 576 + 48 * 49); // the maximum, 2928
  CHECK(tokens(2000, 2000) == 2928);
}

TEST_CASE("anyres: bad pinpoints and sizes are one-line errors", "[image][anyres]") {
  CHECK_THROWS_WITH(pb::select_anyres_layout(100, 100, {}, pb::AnyresConvention::kOriginal),
                    Catch::Contains("image_grid_pinpoints is empty"));
  CHECK_THROWS_WITH(pb::select_anyres_layout(100, 100, {{336, 500}}, pb::AnyresConvention::kOriginal),
                    Catch::Contains("pinpoint [336, 500]"));
  CHECK_THROWS_WITH(pb::select_anyres_layout(0, 100, kNextPinpoints, pb::AnyresConvention::kOriginal),
                    Catch::Contains("not positive"));
}
