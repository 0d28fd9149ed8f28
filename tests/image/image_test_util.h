// Shared helpers for the image tests: fixture paths, reading expected RGB PNGs, exact comparison.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include "test_paths.h"

namespace pb::test {

inline std::string data_path(const std::string& relative) {
  return std::string(PB_TEST_DATA) + "/" + relative;
}

// Expected outputs are plain 8-bit RGB PNGs; OpenCV hands them back as BGR.
inline cv::Mat read_expected_rgb(const std::string& path) {
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  INFO("expected image " << path);
  REQUIRE(!m.empty());
  REQUIRE(m.type() == CV_8UC3);
  cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  return m;
}

struct ImageDiff {
  int max_diff = 0;
  int64_t differing_values = 0;  // channel values, not pixels
  int64_t differing_pixels = 0;
};

inline ImageDiff image_diff(const cv::Mat& a, const cv::Mat& b) {
  ImageDiff d;
  for (int y = 0; y < a.rows; ++y) {
    const uint8_t* pa = a.ptr<uint8_t>(y);
    const uint8_t* pb = b.ptr<uint8_t>(y);
    for (int x = 0; x < a.cols; ++x) {
      bool pixel_differs = false;
      for (int c = 0; c < 3; ++c) {
        const int diff = std::abs(pa[x * 3 + c] - pb[x * 3 + c]);
        if (diff > 0) {
          pixel_differs = true;
          ++d.differing_values;
          if (diff > d.max_diff) d.max_diff = diff;
        }
      }
      if (pixel_differs) ++d.differing_pixels;
    }
  }
  return d;
}

// Requires bit-identical CV_8UC3 images, reporting max diff and counts otherwise.
inline void require_same_rgb(const cv::Mat& got, const cv::Mat& expected, const std::string& label) {
  INFO(label);
  REQUIRE(got.type() == CV_8UC3);
  REQUIRE(got.cols == expected.cols);
  REQUIRE(got.rows == expected.rows);
  const ImageDiff d = image_diff(got, expected);
  INFO(fmt::format("{}x{}: max diff {} grey levels, {} differing pixels ({} values)", got.cols,
                   got.rows, d.max_diff, d.differing_pixels, d.differing_values));
  CHECK(d.max_diff == 0);
}

}  // namespace pb::test
