// Decoder: PIL-equivalent conversion of every PNG colour type / bit depth and JPEG flavour, and
// refusal (pb::Error naming the file) of everything else before a decoder runs.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>  // getpid

#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "fixtures.h"
#include "image/image_io.h"
#include "image_test_util.h"

using Catch::Matchers::Contains;

namespace {

namespace fs = std::filesystem;

// A scratch folder per test process, removed at exit.
const fs::path& scratch_dir() {
  static const struct Dir {
    fs::path path;
    Dir() : path(fs::temp_directory_path() / fmt::format("pb_image_tests_{}", ::getpid())) {
      fs::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

std::string write_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const fs::path p = scratch_dir() / name;
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
  return p.string();
}

std::vector<uint8_t> encode(const std::string& ext, const cv::Mat& bgr) {
  std::vector<uint8_t> out;
  REQUIRE(cv::imencode(ext, bgr, out));
  return out;
}

cv::Mat test_bgr(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(42);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

void append_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

// A PNG whose IHDR claims width x height, followed by a few garbage IDAT bytes and no real data.
std::vector<uint8_t> png_with_header(uint32_t width, uint32_t height) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  append_be32(b, 13);
  for (char c : std::string("IHDR")) b.push_back(static_cast<uint8_t>(c));
  append_be32(b, width);
  append_be32(b, height);
  for (uint8_t v : {8, 2, 0, 0, 0}) b.push_back(v);  // 8-bit RGB, deflate, no filter, no interlace
  append_be32(b, 0);                                  // CRC (not checked before the size)
  append_be32(b, 4);
  for (char c : std::string("IDAT\x78\x9c\x00\x00")) b.push_back(static_cast<uint8_t>(c));
  append_be32(b, 0);
  return b;
}

// Inserts an EXIF APP1 segment saying "rotate 90 degrees" (orientation 6) right after SOI.
std::vector<uint8_t> with_exif_orientation_6(const std::vector<uint8_t>& jpeg) {
  const std::vector<uint8_t> tiff = {'M', 'M', 0, 42, 0, 0, 0, 8,  // big-endian TIFF header
                                     0, 1,                          // one IFD entry
                                     0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,  // Orientation=6
                                     0, 0, 0, 0};                   // no next IFD
  std::vector<uint8_t> app1 = {'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  const size_t len = app1.size() + 2;
  std::vector<uint8_t> out(jpeg.begin(), jpeg.begin() + 2);
  for (uint8_t v : {uint8_t{0xFF}, uint8_t{0xE1}, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len & 0xFF)}) out.push_back(v);
  out.insert(out.end(), app1.begin(), app1.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

}  // namespace

TEST_CASE("image_io: every PNG type and JPEG flavour decodes like PIL convert('RGB')", "[image][decode]") {
  const auto& cases = pb::test::image_fixtures().at("decode");
  REQUIRE(cases.size() >= 30);
  for (const auto& c : cases) {
    const std::string source = c.at("source");
    const cv::Mat got = pb::load_image_rgb(pb::test::data_path("image/" + source));
    const cv::Mat expected = pb::test::read_expected_rgb(pb::test::data_path("image/" + c.at("expected_rgb").get<std::string>()));
    pb::test::require_same_rgb(got, expected, source + " (PIL mode " + c.at("pil_mode").get<std::string>() + ")");
  }
}

TEST_CASE("image_io: JPEG EXIF orientation is not applied", "[image][decode]") {
  const cv::Mat bgr = test_bgr(40, 24);
  const std::vector<uint8_t> plain = encode(".jpg", bgr);
  const cv::Mat a = pb::decode_image_rgb(plain, "plain.jpg");
  const cv::Mat b = pb::decode_image_rgb(with_exif_orientation_6(plain), "rotated.jpg");
  REQUIRE(b.cols == 40);
  REQUIRE(b.rows == 24);
  pb::test::require_same_rgb(b, a, "EXIF orientation 6 ignored");
  // The crafted EXIF is real: OpenCV's default imread would rotate the image.
  const std::string path = write_file("rotated.jpg", with_exif_orientation_6(plain));
  CHECK(cv::imread(path, cv::IMREAD_COLOR).cols == 24);
}

TEST_CASE("image_io: returns RGB order", "[image][decode]") {
  const cv::Mat bgr(3, 5, CV_8UC3, cv::Scalar(10, 20, 200));  // B=10, G=20, R=200
  const cv::Mat rgb = pb::decode_image_rgb(encode(".png", bgr), "red.png");
  CHECK(rgb.at<cv::Vec3b>(1, 1) == cv::Vec3b(200, 20, 10));
}

TEST_CASE("image_io: other formats are refused by their magic bytes", "[image][decode][reject]") {
  const cv::Mat bgr = test_bgr(8, 8);
  const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0,
                                    0, 0, 0, 255, 255, 255, ',', 0, 0, 0, 0, 1, 0, 1, 0, 0,
                                    2, 2, 'D', 1, 0, ';'};
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
      {"image.gif", gif}, {"image.bmp", encode(".bmp", bgr)}, {"image.tiff", encode(".tiff", bgr)},
      {"image.webp", encode(".webp", bgr)}, {"image.jpg", encode(".bmp", bgr)}};  // wrong extension too
  for (const auto& [name, bytes] : files) {
    INFO(name);
    if (name != "image.gif") {  // OpenCV 4.6 has no GIF reader
      REQUIRE(cv::imdecode(bytes, cv::IMREAD_COLOR).cols == 8);  // OpenCV alone would accept it
    }
    const std::string path = write_file(name, bytes);
    CHECK_THROWS_WITH(pb::load_image_rgb(path), Contains(path) && Contains("not a JPEG or PNG"));
  }
}

TEST_CASE("image_io: truncated JPEGs are refused (PIL: image file is truncated)", "[image][decode][reject]") {
  for (bool progressive : {false, true}) {
    std::vector<uint8_t> jpeg;
    REQUIRE(cv::imencode(".jpg", test_bgr(64, 48), jpeg, {cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0}));
    for (size_t cut : {size_t{1}, size_t{2}, size_t{50}, jpeg.size() / 2, jpeg.size() - 200}) {
      const std::vector<uint8_t> truncated(jpeg.begin(), jpeg.end() - static_cast<long>(cut));
      INFO("progressive " << progressive << ", " << cut << " bytes cut");
      if (!progressive && cut <= jpeg.size() / 2) {
        // For baseline files libjpeg alone pads the missing data with grey and returns an image.
        CHECK_FALSE(cv::imdecode(truncated, cv::IMREAD_COLOR).empty());
      }
      const std::string path = write_file("truncated.jpg", truncated);
      CHECK_THROWS_WITH(pb::load_image_rgb(path), Contains(path) && Contains("truncated"));
    }
    // Data after EOI is ignored, as PIL does.
    std::vector<uint8_t> trailing = jpeg;
    trailing.insert(trailing.end(), {'x', 0xFF, 0xD8, 0});
    CHECK(pb::decode_image_rgb(trailing, "trailing.jpg").cols == 64);
  }
}

TEST_CASE("image_io: empty, missing, random and corrupt files are refused", "[image][decode][reject]") {
  const std::string empty = write_file("empty.png", {});
  CHECK_THROWS_WITH(pb::load_image_rgb(empty), Contains(empty) && Contains("empty"));

  const std::string missing = (scratch_dir() / "does_not_exist.jpg").string();
  CHECK_THROWS_WITH(pb::load_image_rgb(missing), Contains(missing) && Contains("No such file"));
  CHECK_THROWS_WITH(pb::load_image_rgb(scratch_dir().string()), Contains("directory"));

  std::vector<uint8_t> noise(4096);
  cv::RNG rng(9);
  for (auto& v : noise) v = static_cast<uint8_t>(rng.uniform(0, 256));
  noise[0] = 0x00;  // make sure it is not a JPEG by chance
  const std::string random = write_file("random.jpg", noise);
  CHECK_THROWS_WITH(pb::load_image_rgb(random), Contains(random));

  // Right magic, garbage after it.
  std::vector<uint8_t> fake_jpeg = noise;
  fake_jpeg[0] = 0xFF;
  fake_jpeg[1] = 0xD8;
  fake_jpeg[2] = 0xFF;
  CHECK_THROWS_AS(pb::decode_image_rgb(fake_jpeg, "fake.jpg"), pb::Error);
  std::vector<uint8_t> png = encode(".png", test_bgr(32, 32));
  std::vector<uint8_t> cut_png(png.begin(), png.begin() + static_cast<long>(png.size() / 2));
  CHECK_THROWS_WITH(pb::decode_image_rgb(cut_png, "mem:half.png"), Contains("mem:half.png"));
  std::vector<uint8_t> bad_ihdr = png;
  bad_ihdr[12] = 'X';  // chunk type IXDR
  CHECK_THROWS_WITH(pb::decode_image_rgb(bad_ihdr, "ixdr.png"), Contains("IHDR"));
}

TEST_CASE("image_io: oversized images are refused from the header, before decoding", "[image][decode][reject]") {
  // 10^10 pixels: decoding would need 30 GB; the header check must fire first. The message is the
  // size limit, not a decoder failure, which shows the decoder never ran on the bogus IDAT.
  const std::string path = write_file("huge.png", png_with_header(100000, 100000));
  CHECK_THROWS_WITH(pb::load_image_rgb(path), Contains(path) && Contains("10000000000 pixels"));
  // A JPEG frame header of 65535 x 65535.
  std::vector<uint8_t> jpeg = encode(".jpg", test_bgr(16, 16));
  for (size_t i = 2; i + 8 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = jpeg[i + 6] = jpeg[i + 7] = jpeg[i + 8] = 0xFF;
      break;
    }
  }
  CHECK_THROWS_WITH(pb::decode_image_rgb(jpeg, "huge.jpg"), Contains("huge.jpg") && Contains("limit"));
  // The limit is the caller's.
  const std::vector<uint8_t> small = encode(".png", test_bgr(20, 20));
  CHECK_THROWS_WITH(pb::decode_image_rgb(small, "small.png", 399), Contains("limit of 399"));
  CHECK(pb::decode_image_rgb(small, "small.png", 400).cols == 20);
}
