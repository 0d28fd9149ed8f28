// pil_resize_bicubic against Pillow: hand-made invariants and tiny PIL-made references.
#include <catch2/catch.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "fixtures.h"
#include "image/image_io.h"
#include "image/pil_resize.h"
#include "image_test_util.h"

namespace {

cv::Mat random_rgb(int w, int h, uint64_t seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

}  // namespace

TEST_CASE("image_resize: same size returns the input unchanged", "[image][resize]") {
  for (auto [w, h] : {std::pair{17, 11}, {1, 1}, {1, 9}, {336, 2}}) {
    const cv::Mat in = random_rgb(w, h, 7);
    pb::test::require_same_rgb(pb::pil_resize_bicubic(in, w, h), in, fmt::format("{}x{}", w, h));
  }
}

TEST_CASE("image_resize: a constant image stays constant", "[image][resize]") {
  // Up, down, mixed and extreme ratios; 0 and 255 check the clipping of the kernel's overshoot.
  const std::vector<std::array<int, 4>> sizes = {
      {13, 7, 336, 336}, {640, 480, 336, 336}, {1, 1, 5, 9}, {1000, 3, 7, 40}, {5, 700, 336, 2}};
  for (const cv::Vec3b& color : {cv::Vec3b(0, 0, 0), cv::Vec3b(255, 255, 255), cv::Vec3b(122, 116, 104)}) {
    for (const auto& s : sizes) {
      const cv::Mat in(s[1], s[0], CV_8UC3, cv::Scalar(color[0], color[1], color[2]));
      const cv::Mat expected(s[3], s[2], CV_8UC3, cv::Scalar(color[0], color[1], color[2]));
      pb::test::require_same_rgb(pb::pil_resize_bicubic(in, s[2], s[3]), expected,
                                 fmt::format("{}x{} -> {}x{}, colour {}", s[0], s[1], s[2], s[3], color[0]));
    }
  }
}

TEST_CASE("image_resize: PIL references (odd sizes, 1-pixel sides, extreme ratios)", "[image][resize]") {
  const auto& cases = pb::test::image_fixtures().at("resize");
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    const std::string source = c.at("source");
    const int w = c.at("width"), h = c.at("height");
    const cv::Mat in = pb::load_image_rgb(pb::test::data_path("image/" + source));
    const cv::Mat expected = pb::test::read_expected_rgb(pb::test::data_path("image/" + c.at("expected_rgb").get<std::string>()));
    pb::test::require_same_rgb(pb::pil_resize_bicubic(in, w, h), expected,
                               fmt::format("{} ({}x{}) -> {}x{}", source, in.cols, in.rows, w, h));
  }
}

TEST_CASE("image_resize: the references tell Pillow from OpenCV's bicubic", "[image][resize]") {
  // Guards the fixtures themselves: a plain cv::resize would fail the test above.
  const cv::Mat in = pb::load_image_rgb(pb::test::data_path("image/resize/noise_13x7.png"));
  const cv::Mat expected = pb::test::read_expected_rgb(pb::test::data_path("image/resize/noise_13x7.to5x3.png"));
  cv::Mat opencv;
  cv::resize(in, opencv, cv::Size(5, 3), 0, 0, cv::INTER_CUBIC);
  CHECK(pb::test::image_diff(opencv, expected).max_diff > 0);
}

TEST_CASE("image_resize: rejects empty, non-RGB and non-positive sizes", "[image][resize]") {
  const cv::Mat rgb = random_rgb(4, 4, 1);
  CHECK_THROWS_AS(pb::pil_resize_bicubic(cv::Mat(), 3, 3), pb::Error);
  CHECK_THROWS_AS(pb::pil_resize_bicubic(cv::Mat(4, 4, CV_8UC1, cv::Scalar(0)), 3, 3), pb::Error);
  CHECK_THROWS_AS(pb::pil_resize_bicubic(rgb, 0, 3), pb::Error);
  CHECK_THROWS_AS(pb::pil_resize_bicubic(rgb, 3, -1), pb::Error);
  // Pillow's coefficient buffer would overflow (it raises MemoryError): refuse, do not allocate.
  CHECK_THROWS_AS(pb::pil_resize_bicubic(rgb, 1 << 30, 3), pb::Error);
}
