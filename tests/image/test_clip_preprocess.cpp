// preprocess_clip_rgb and normalize_clip: PIL references, equivalence with the straightforward
// (materialised) pipelines, extreme aspect ratios, and the normalisation layout.
#include <cmath>

#include <catch2/catch.hpp>
#include <opencv2/core.hpp>

#include "core/error.h"
#include "fixtures.h"
#include "image/clip_preprocess.h"
#include "image/image_io.h"
#include "image/pil_resize.h"
#include "image_test_util.h"

using Catch::Matchers::Contains;

namespace {

cv::Mat random_rgb(int w, int h, uint64_t seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

// expand2square written the obvious way, on a full square.
cv::Mat pad_to_square(const cv::Mat& rgb) {
  const int side = std::max(rgb.cols, rgb.rows);
  cv::Mat square(side, side, CV_8UC3,
                 cv::Scalar(pb::kClipPadRgb[0], pb::kClipPadRgb[1], pb::kClipPadRgb[2]));
  rgb.copyTo(square(cv::Rect((side - rgb.cols) / 2, (side - rgb.rows) / 2, rgb.cols, rgb.rows)));
  return square;
}

}  // namespace

TEST_CASE("image_preprocess: image mode names", "[image][preprocess]") {
  CHECK(pb::image_mode_from_name("pad") == pb::ImageMode::kPad);
  CHECK(pb::image_mode_from_name("crop") == pb::ImageMode::kCrop);
  CHECK_THROWS_WITH(pb::image_mode_from_name("Pad"), Contains("'Pad'") && Contains("pad, crop"));
  CHECK_THROWS_AS(pb::image_mode_from_name(""), pb::Error);
}

TEST_CASE("image_preprocess: PIL references (small sizes, extreme aspect ratios)", "[image][preprocess]") {
  const auto& cases = pb::test::image_fixtures().at("preprocess");
  REQUIRE(cases.size() >= 16);
  for (const auto& c : cases) {
    const std::string source = c.at("source"), mode = c.at("mode");
    const int size = c.at("size");
    const cv::Mat in = pb::load_image_rgb(pb::test::data_path("image/" + source));
    const cv::Mat expected = pb::test::read_expected_rgb(pb::test::data_path("image/" + c.at("expected_rgb").get<std::string>()));
    pb::test::require_same_rgb(pb::preprocess_clip_rgb(in, pb::image_mode_from_name(mode), size), expected,
                               fmt::format("{} ({}x{}) {} {}", source, in.cols, in.rows, mode, size));
  }
}

TEST_CASE("image_preprocess: pad mode equals padding the full square, then resizing", "[image][preprocess]") {
  // Odd and even size differences, landscape, portrait, square, already-336 squares.
  for (auto [w, h] : {std::pair{640, 480}, {480, 641}, {336, 100}, {101, 336}, {336, 336}, {50, 50}, {7, 900}}) {
    const cv::Mat in = random_rgb(w, h, static_cast<uint64_t>(w * 1000 + h));
    const cv::Mat square = pad_to_square(in);
    pb::test::require_same_rgb(pb::preprocess_clip_rgb(in, pb::ImageMode::kPad),
                               pb::pil_resize_bicubic(square, 336, 336), fmt::format("{}x{}", w, h));
  }
}

TEST_CASE("image_preprocess: crop mode equals resizing in full, then centre cropping", "[image][preprocess]") {
  // {w, h, resized w, resized h}: long side int(336 * long / short), truncated.
  const std::vector<std::array<int, 4>> cases = {{640, 480, 448, 336}, {480, 640, 336, 448},
                                                 {500, 333, 504, 336}, {336, 999, 336, 999},
                                                 {300, 9, 11200, 336}, {200, 200, 336, 336}};
  for (const auto& c : cases) {
    const cv::Mat in = random_rgb(c[0], c[1], static_cast<uint64_t>(c[0] + c[1]));
    const cv::Mat full = pb::pil_resize_bicubic(in, c[2], c[3]);
    const cv::Mat expected = full(cv::Rect((c[2] - 336) / 2, (c[3] - 336) / 2, 336, 336));
    pb::test::require_same_rgb(pb::preprocess_clip_rgb(in, pb::ImageMode::kCrop), expected,
                               fmt::format("{}x{}", c[0], c[1]));
  }
}

TEST_CASE("image_preprocess: 1x4000 and 4000x1 images work in both modes", "[image][preprocess]") {
  for (auto [w, h] : {std::pair{1, 4000}, {4000, 1}}) {
    const cv::Mat in = random_rgb(w, h, 3);
    for (auto mode : {pb::ImageMode::kPad, pb::ImageMode::kCrop}) {
      const cv::Mat out = pb::preprocess_clip_rgb(in, mode);
      CHECK(out.cols == 336);
      CHECK(out.rows == 336);
      CHECK(out.type() == CV_8UC3);
    }
    if (w == 1) {
      // Crop of a 1-pixel-wide image: each output row is one upsampled source pixel, so constant.
      const cv::Mat crop = pb::preprocess_clip_rgb(in, pb::ImageMode::kCrop);
      for (int y = 0; y < crop.rows; y += 37) {
        CHECK(crop.at<cv::Vec3b>(y, 0) == crop.at<cv::Vec3b>(y, 335));
      }
    }
  }
}

TEST_CASE("image_preprocess: rejects bad input with pb::Error", "[image][preprocess]") {
  CHECK_THROWS_AS(pb::preprocess_clip_rgb(cv::Mat(), pb::ImageMode::kPad), pb::Error);
  CHECK_THROWS_AS(pb::preprocess_clip_rgb(cv::Mat(0, 5, CV_8UC3), pb::ImageMode::kCrop), pb::Error);
  CHECK_THROWS_AS(pb::preprocess_clip_rgb(cv::Mat(4, 4, CV_8UC4, cv::Scalar(0)), pb::ImageMode::kPad), pb::Error);
  CHECK_THROWS_AS(pb::preprocess_clip_rgb(random_rgb(4, 4, 1), pb::ImageMode::kPad, 0), pb::Error);
  const cv::Mat too_wide(1, pb::kMaxPadSide + 1, CV_8UC3, cv::Scalar(1, 2, 3));
  CHECK_THROWS_WITH(pb::preprocess_clip_rgb(too_wide, pb::ImageMode::kPad), Contains("limit"));
  // Crop mode only computes the kept window, so the same image is fine there.
  CHECK(pb::preprocess_clip_rgb(too_wide, pb::ImageMode::kCrop, 16).cols == 16);
}

TEST_CASE("image_normalize: CHW layout and CLIP statistics", "[image][normalize]") {
  cv::Mat rgb(2, 3, CV_8UC3);  // H=2, W=3
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 100 + y), uchar(255 - x), uchar(y * 255));
  }
  const std::vector<float> out = pb::normalize_clip(rgb);
  REQUIRE(out.size() == 3u * 2u * 3u);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 2; ++y) {
      for (int x = 0; x < 3; ++x) {
        const double v = rgb.at<cv::Vec3b>(y, x)[c];
        const double expected = (v / 255.0 - pb::kClipMean[c]) / pb::kClipStd[c];
        INFO("c=" << c << " y=" << y << " x=" << x);
        CHECK(std::fabs(out[(c * 2 + y) * 3 + x] - expected) < 1e-6);
      }
    }
  }
  CHECK_THROWS_AS(pb::normalize_clip(cv::Mat()), pb::Error);
  CHECK_THROWS_AS(pb::normalize_clip(cv::Mat(2, 2, CV_8UC1, cv::Scalar(0))), pb::Error);
}
