// Golden parity: LLaVA-1.5 preprocessing of real photos (tests/data/golden/preprocess, made with PIL
// and the original LLaVA / transformers code) must match to the grey level, and the normalised
// tensors to 1e-6.
#include <cmath>
#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "image_test_util.h"
#include "io/safetensors.h"

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  INFO("reading " << path);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

}  // namespace

TEST_CASE("image_preprocess: golden manifest cases match PIL bit for bit", "[image][golden]") {
  const auto manifest = read_json(pb::test::data_path("golden/preprocess/manifest.json"));
  REQUIRE(manifest.at("size").get<int>() == 336);
  REQUIRE(manifest.at("pad_color") == nlohmann::json::array({122, 116, 104}));
  const auto& cases = manifest.at("cases");
  REQUIRE(cases.size() >= 16);
  for (const auto& c : cases) {
    const std::string image = c.at("image");
    const std::string mode = c.at("mode");
    DYNAMIC_SECTION(image << " " << mode) {
      const cv::Mat rgb = pb::load_image_rgb(pb::test::data_path("golden/" + image));
      CHECK(rgb.cols == c.at("source_size")[0].get<int>());
      CHECK(rgb.rows == c.at("source_size")[1].get<int>());
      const cv::Mat got = pb::preprocess_clip_rgb(rgb, pb::image_mode_from_name(mode), 336);
      const cv::Mat expected =
          pb::test::read_expected_rgb(pb::test::data_path("golden/" + c.at("expected_rgb").get<std::string>()));
      pb::test::require_same_rgb(got, expected, image + " (" + c.at("source_mode").get<std::string>() + ") " + mode);
    }
  }
}

TEST_CASE("image_preprocess: the pad colour and CLIP statistics are LLaVA's", "[image][golden]") {
  const auto manifest = read_json(pb::test::data_path("golden/preprocess/manifest.json"));
  for (int c = 0; c < 3; ++c) {
    CHECK(pb::kClipPadRgb[c] == manifest.at("pad_color")[c].get<int>());
    CHECK(pb::kClipMean[c] == manifest.at("image_mean")[c].get<float>());
    CHECK(pb::kClipStd[c] == manifest.at("image_std")[c].get<float>());
  }
}

TEST_CASE("image_preprocess: normalised tensors match the golden pixel_values", "[image][golden]") {
  const auto file = pb::SafetensorsFile::open(pb::test::data_path("golden/preprocess/normalized.safetensors"));
  // __metadata__ names the source of each tensor: "<image> <mode>".
  for (const char* name : {"pixel_values", "pixel_values_crop"}) {
    DYNAMIC_SECTION(name) {
      const pb::TensorView* t = file->find(name);
      REQUIRE(t != nullptr);
      REQUIRE(t->dtype == pb::DType::kF32);
      REQUIRE(t->shape == std::vector<int64_t>{3, 336, 336});
      const std::string source = file->metadata().at(name);
      const auto space = source.find(' ');
      REQUIRE(space != std::string::npos);
      const cv::Mat rgb = pb::load_image_rgb(pb::test::data_path("golden/" + source.substr(0, space)));
      const cv::Mat pre = pb::preprocess_clip_rgb(rgb, pb::image_mode_from_name(source.substr(space + 1)));
      const std::vector<float> got = pb::normalize_clip(pre);
      REQUIRE(got.size() * sizeof(float) == t->nbytes);
      std::vector<float> expected(got.size());
      std::memcpy(expected.data(), t->data, t->nbytes);  // the view may be unaligned
      double max_abs = 0.0;
      size_t worst = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - expected[i]);
        if (d > max_abs) {
          max_abs = d;
          worst = i;
        }
      }
      INFO(source << ": max abs diff " << max_abs << " at flat index " << worst << " (got "
                  << got[worst] << ", expected " << expected[worst] << ")");
      CHECK(max_abs <= 1e-6);
    }
  }
}

TEST_CASE("image_preprocess: LLaVA-HR pad to square and resize to 1024 match PIL bit for bit",
          "[image][golden][llava_hr]") {
  // golden/hr/<stem>.pad1024.png: expand2square with the CLIP mean colour, then CLIPImageProcessor
  // with size = crop_size = input_image_size 1024 (luogen1996/LLaVA-HR convnext_encoder.py).
  for (const char* stem : {"fruits", "messi5"}) {
    DYNAMIC_SECTION(stem) {
      const cv::Mat rgb = pb::load_image_rgb(pb::test::data_path(std::string("golden/images/") + stem + ".jpg"));
      REQUIRE(rgb.cols != rgb.rows);  // so the padding is exercised
      const cv::Mat got = pb::preprocess_clip_rgb(rgb, pb::ImageMode::kPad, 1024);
      const cv::Mat expected =
          pb::test::read_expected_rgb(pb::test::data_path(std::string("golden/hr/") + stem + ".pad1024.png"));
      REQUIRE(expected.cols == 1024);
      REQUIRE(expected.rows == 1024);
      pb::test::require_same_rgb(got, expected, std::string(stem) + " pad 1024");
    }
  }
}
