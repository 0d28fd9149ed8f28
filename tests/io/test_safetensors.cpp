// safetensors reader and writer: golden files, round trips, and one test per kind of bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "test_paths.h"

using Catch::Matchers::Contains;
using pb::DType;
using pb::test::raw_safetensors;
using pb::test::TempDir;
using pb::test::write_bytes;

namespace {

const DType kAllDTypes[] = {DType::kBool, DType::kU8,  DType::kI8,   DType::kI16,   DType::kU16,
                            DType::kI32,  DType::kU32, DType::kI64,  DType::kU64,   DType::kF16,
                            DType::kBF16, DType::kF32, DType::kF64,  DType::kF8E4M3, DType::kF8E5M2};

std::string golden(const std::string& rel) { return std::string(PB_TEST_DATA) + "/golden/" + rel; }

std::vector<float> floats_of(const pb::TensorView& t) {
  REQUIRE(t.dtype == DType::kF32);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), t.data, t.nbytes);
  return out;
}

// Writes `header` + `data` as a safetensors file and expects open() to fail with a message
// containing the path and every fragment.
void expect_open_error(const std::string& header, const std::string& data, const std::vector<std::string>& fragments) {
  TempDir dir;
  const std::string path = write_bytes(dir.file("bad.safetensors"), raw_safetensors(header, data));
  try {
    pb::SafetensorsFile::open(path);
    FAIL("open() accepted a malformed file; header: " << header);
  } catch (const pb::Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK_THAT(msg, Contains(path));
    for (const std::string& f : fragments) CHECK_THAT(msg, Contains(f));
  }
}

}  // namespace

TEST_CASE("io/safetensors: dtype names and sizes match the format", "[io][safetensors]") {
  CHECK(std::string(pb::dtype_name(DType::kBF16)) == "BF16");
  CHECK(std::string(pb::dtype_name(DType::kF8E4M3)) == "F8_E4M3");
  CHECK(std::string(pb::dtype_name(DType::kBool)) == "BOOL");
  CHECK(pb::dtype_size(DType::kBool) == 1);
  CHECK(pb::dtype_size(DType::kF8E5M2) == 1);
  CHECK(pb::dtype_size(DType::kBF16) == 2);
  CHECK(pb::dtype_size(DType::kU16) == 2);
  CHECK(pb::dtype_size(DType::kF32) == 4);
  CHECK(pb::dtype_size(DType::kU32) == 4);
  CHECK(pb::dtype_size(DType::kI64) == 8);
  CHECK(pb::dtype_size(DType::kF64) == 8);
  for (DType d : kAllDTypes) CHECK(pb::dtype_from_name(pb::dtype_name(d), "here") == d);
  for (const char* bad : {"F4", "C64", "F8_E8M0", "f32", "float32", "", "junk"}) {
    CHECK_THROWS_WITH(pb::dtype_from_name(bad, "file.safetensors: tensor 'w'"),
                      Contains("file.safetensors: tensor 'w'") && Contains("dtype"));
  }
}

TEST_CASE("io/safetensors: reads the golden fp32 tiny checkpoint", "[io][safetensors]") {
  const std::string path = golden("llava15-tiny/model.safetensors");
  auto file = pb::SafetensorsFile::open(path);
  CHECK(file->path() == path);
  CHECK(file->tensors().size() == 89);
  REQUIRE(file->metadata().count("format") == 1);
  CHECK(file->metadata().at("format") == "pt");
  CHECK((8 + file->header_bytes()) % 8 == 0);

  const pb::TensorView* embed = file->find("language_model.model.embed_tokens.weight");
  REQUIRE(embed != nullptr);
  CHECK(embed->dtype == DType::kF32);
  CHECK(embed->shape == std::vector<int64_t>{1024, 128});
  CHECK(embed->numel() == 1024 * 128);
  CHECK(embed->nbytes == 1024 * 128 * 4);
  CHECK(embed->file == path);
  CHECK(embed->is_aligned());
  const auto values = floats_of(*embed);
  CHECK(std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }));
  CHECK(std::any_of(values.begin(), values.end(), [](float v) { return v != 0.0f; }));

  const pb::TensorView* patch = file->find("vision_tower.vision_model.embeddings.patch_embedding.weight");
  REQUIRE(patch != nullptr);
  CHECK(patch->shape == std::vector<int64_t>{64, 3, 14, 14});
  CHECK(file->find("no.such.tensor") == nullptr);

  // tensors() is in data order and tiles the data section.
  const char* expected = static_cast<const char*>(file->tensors().front().data);
  for (const pb::TensorView& t : file->tensors()) {
    CHECK(static_cast<const char*>(t.data) == expected);
    expected += t.nbytes;
  }
  CHECK(expected - static_cast<const char*>(file->tensors().front().data) ==
        static_cast<std::ptrdiff_t>(file->file_bytes() - 8 - file->header_bytes()));
}

TEST_CASE("io/safetensors: write then read round-trips every dtype, empty and 0-rank tensors", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("all.safetensors");

  std::vector<std::vector<unsigned char>> buffers;
  std::vector<pb::TensorWrite> writes;
  int k = 0;
  for (DType d : kAllDTypes) {
    const std::vector<int64_t> shape{2, 3};
    std::vector<unsigned char> bytes(6 * pb::dtype_size(d));
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(k * 31 + static_cast<int>(i) * 7 + 1);
    buffers.push_back(std::move(bytes));
    writes.push_back({std::string("t.") + pb::dtype_name(d), d, shape, buffers.back().data()});
    ++k;
  }
  // (Moving the inner vectors when `buffers` grows keeps their heap storage, so data pointers stay valid.)
  const double scalar = 3.25;
  const int8_t scalar_i8 = -7;
  writes.push_back({"empty.f32", DType::kF32, {0, 4}, nullptr});
  writes.push_back({"empty.bf16", DType::kBF16, {3, 0}, nullptr});
  writes.push_back({"scalar.f64", DType::kF64, {}, &scalar});
  writes.push_back({"scalar.i8", DType::kI8, {}, &scalar_i8});
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "quote \" and \u00fcml\u00e4ut"}};

  pb::write_safetensors(path, writes, metadata);
  auto file = pb::SafetensorsFile::open(path);

  CHECK((8 + file->header_bytes()) % 8 == 0);  // data section starts 8-aligned
  CHECK(file->metadata() == metadata);
  REQUIRE(file->tensors().size() == writes.size());
  for (const pb::TensorWrite& w : writes) {
    INFO("tensor " << w.name);
    const pb::TensorView* t = file->find(w.name);
    REQUIRE(t != nullptr);
    CHECK(t->dtype == w.dtype);
    CHECK(t->shape == w.shape);
    CHECK(t->is_aligned());
    CHECK(reinterpret_cast<uintptr_t>(t->data) % pb::dtype_size(t->dtype) == 0);
    int64_t numel = 1;
    for (int64_t d : w.shape) numel *= d;
    CHECK(t->numel() == numel);
    REQUIRE(t->nbytes == static_cast<size_t>(numel) * pb::dtype_size(w.dtype));
    if (t->nbytes > 0) CHECK(std::memcmp(t->data, w.data, t->nbytes) == 0);
  }
  const pb::TensorView* s = file->find("scalar.f64");
  double back = 0;
  std::memcpy(&back, s->data, sizeof back);
  CHECK(back == 3.25);

  // Layout like the reference writer: descending alignment (its dtype order), then name.
  std::vector<std::string> order;
  for (const pb::TensorView& t : file->tensors()) order.push_back(t.name);
  CHECK(order.front() == "t.U64");
  const auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  CHECK(pos("t.U64") < pos("t.I64"));
  CHECK(pos("t.I64") < pos("t.F64"));
  CHECK(pos("scalar.f64") < pos("t.F64"));  // same dtype: by name
  CHECK(pos("t.F64") < pos("empty.f32"));
  CHECK(pos("empty.f32") < pos("t.F32"));
  CHECK(pos("t.F32") < pos("t.U32"));
  CHECK(pos("t.I32") < pos("empty.bf16"));
  CHECK(pos("t.F16") < pos("t.U16"));
  CHECK(pos("t.I16") < pos("t.F8_E4M3"));
  CHECK(pos("t.F8_E4M3") < pos("t.F8_E5M2"));
  CHECK(pos("scalar.i8") < pos("t.I8"));
  CHECK(pos("t.I8") < pos("t.U8"));
  CHECK(order.back() == "t.BOOL");
  CHECK(std::filesystem::file_size(path) == file->file_bytes());
}

TEST_CASE("io/safetensors: writer bytes match the reference layout", "[io][safetensors]") {
  TempDir dir;
  const float values[6] = {0, 1, 2, 3, 4, 5};
  std::string data(reinterpret_cast<const char*>(values), sizeof values);

  // 64-byte header: already a multiple of 8, no padding.
  const std::string path1 = dir.file("a.safetensors");
  pb::write_safetensors(path1, {{"attn.0", DType::kF32, {1, 2, 3}, values}});
  const std::string header1 = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(header1.size() == 64);
  std::ifstream in1(path1, std::ios::binary);
  const std::string bytes1((std::istreambuf_iterator<char>(in1)), std::istreambuf_iterator<char>());
  CHECK(bytes1 == raw_safetensors(header1, data));

  // 65-byte header: padded with 7 spaces to 72.
  const std::string path2 = dir.file("b.safetensors");
  pb::write_safetensors(path2, {{"attn0", DType::kF32, {1, 1, 2, 3}, values}});
  const std::string header2 = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" + std::string(7, ' ');
  std::ifstream in2(path2, std::ios::binary);
  const std::string bytes2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  CHECK(bytes2 == raw_safetensors(header2, data));

  // No tensors, metadata first.
  const std::string path3 = dir.file("c.safetensors");
  pb::write_safetensors(path3, {}, {{"framework", "pt"}});
  std::ifstream in3(path3, std::ios::binary);
  const std::string bytes3((std::istreambuf_iterator<char>(in3)), std::istreambuf_iterator<char>());
  CHECK(bytes3 == raw_safetensors(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' '), ""));
  CHECK(pb::SafetensorsFile::open(path3)->tensors().empty());
}

TEST_CASE("io/safetensors: writer replaces files atomically and rejects bad tensors", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  const int32_t a[2] = {1, 2};
  pb::write_safetensors(path, {{"x", DType::kI32, {2}, a}});
  pb::write_safetensors(path, {{"y", DType::kI32, {1}, a}});
  auto file = pb::SafetensorsFile::open(path);
  CHECK(file->find("x") == nullptr);
  CHECK(file->find("y") != nullptr);
  int n_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++n_files;
  }
  CHECK(n_files == 1);  // no temporary file left behind

  const std::string bad = dir.file("bad.safetensors");
  CHECK_THROWS_WITH(pb::write_safetensors(bad, {{"x", DType::kI32, {2}, a}, {"x", DType::kI32, {1}, a}}),
                    Contains(bad) && Contains("'x'"));
  CHECK_THROWS_WITH(pb::write_safetensors(bad, {{"__metadata__", DType::kI32, {1}, a}}), Contains("reserved"));
  CHECK_THROWS_WITH(pb::write_safetensors(bad, {{"neg", DType::kI32, {-1, 2}, a}}), Contains("'neg'"));
  CHECK_THROWS_WITH(pb::write_safetensors(bad, {{"null", DType::kI32, {2}, nullptr}}), Contains("'null'"));
  CHECK_THROWS_WITH(pb::write_safetensors(bad, {{"big", DType::kF32, {int64_t{1} << 62, 4}, a}}),
                    Contains("'big'") && Contains("overflow"));
  CHECK_THROWS_AS(pb::write_safetensors(dir.file("no/such/dir/x.safetensors"), {}), pb::Error);
  CHECK_FALSE(std::filesystem::exists(bad));
}

TEST_CASE("io/safetensors: unpadded third-party files are read and report misalignment", "[io][safetensors]") {
  TempDir dir;
  // Header of 61 bytes: the data section starts at byte 69, so F32 data is not 4-aligned.
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}       )";
  REQUIRE(header.size() == 61);
  REQUIRE((8 + header.size()) % 4 != 0);
  const float v[2] = {1.5f, -2.0f};
  const std::string path = write_bytes(dir.file("u.safetensors"),
                                       raw_safetensors(header, std::string(reinterpret_cast<const char*>(v), 8)));
  auto file = pb::SafetensorsFile::open(path);
  const pb::TensorView* w = file->find("w");
  REQUIRE(w != nullptr);
  CHECK_FALSE(w->is_aligned());
  CHECK(floats_of(*w) == std::vector<float>{1.5f, -2.0f});
}

TEST_CASE("io/safetensors: zero-size tensors at any offset and an empty header are valid", "[io][safetensors]") {
  TempDir dir;
  const std::string header =
      R"({"a":{"dtype":"I16","shape":[2],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},)"
      R"("s":{"dtype":"U8","shape":[],"data_offsets":[4,5]}})";
  auto file = pb::SafetensorsFile::open(write_bytes(dir.file("z.safetensors"), raw_safetensors(header, "abcde")));
  REQUIRE(file->tensors().size() == 3);
  CHECK(file->find("z")->nbytes == 0);
  CHECK(file->find("z")->numel() == 0);
  CHECK(file->find("s")->numel() == 1);
  CHECK(*static_cast<const char*>(file->find("s")->data) == 'e');

  auto empty = pb::SafetensorsFile::open(write_bytes(dir.file("e.safetensors"), raw_safetensors("{}", "")));
  CHECK(empty->tensors().empty());
  CHECK(empty->metadata().empty());
}

// ---- bad input: one test per kind, each checks the message names the file (and tensor) ----

TEST_CASE("io/safetensors bad input: missing file", "[io][safetensors][bad]") {
  TempDir dir;
  const std::string path = dir.file("absent.safetensors");
  CHECK_THROWS_WITH(pb::SafetensorsFile::open(path), Contains(path) && Contains("cannot open"));
}

TEST_CASE("io/safetensors bad input: truncated file shorter than 8 bytes", "[io][safetensors][bad]") {
  TempDir dir;
  for (const std::string& bytes : {std::string(), std::string("\x10\0\0\0\0", 5)}) {
    const std::string path = write_bytes(dir.file("t.safetensors"), bytes);
    CHECK_THROWS_WITH(pb::SafetensorsFile::open(path), Contains(path) && Contains("shorter than"));
  }
}

TEST_CASE("io/safetensors bad input: header length past the end of the file", "[io][safetensors][bad]") {
  TempDir dir;
  const std::string path = write_bytes(dir.file("t.safetensors"), pb::test::le64(100) + std::string(20, ' '));
  CHECK_THROWS_WITH(pb::SafetensorsFile::open(path), Contains(path) && Contains("past the end of the file"));
}

TEST_CASE("io/safetensors bad input: 1 TB header length is refused before allocating", "[io][safetensors][bad]") {
  TempDir dir;
  // Would need a terabyte if the reader allocated N bytes; the limit check must come first.
  for (uint64_t n : {uint64_t{1} << 40, ~uint64_t{0}, uint64_t{100'000'001}}) {
    const std::string path = write_bytes(dir.file("t.safetensors"), pb::test::le64(n) + "{}");
    CHECK_THROWS_WITH(pb::SafetensorsFile::open(path), Contains(path) && Contains("exceeds the 100000000-byte limit"));
  }
}

TEST_CASE("io/safetensors bad input: invalid JSON header", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"F32",)", "", {"not valid JSON", "file byte"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x)", "abcd", {"not valid JSON"});
  expect_open_error("", "", {"not valid JSON"});
}

TEST_CASE("io/safetensors bad input: header not UTF-8", "[io][safetensors][bad]") {
  expect_open_error("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd",
                    {"not valid UTF-8", "file byte 11"});
  expect_open_error("{\"\xc0\xaf\":1}", "", {"not valid UTF-8"});  // overlong '/'
}

TEST_CASE("io/safetensors bad input: header not an object", "[io][safetensors][bad]") {
  expect_open_error("[1, 2]", "", {"not an object"});
  expect_open_error("\"text\"", "", {"not an object"});
}

TEST_CASE("io/safetensors bad input: entry missing a field", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1]}})", "abcd", {"tensor 'w'", "no 'data_offsets'"});
  expect_open_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd", {"tensor 'w'", "no 'dtype'"});
  expect_open_error(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", "abcd", {"tensor 'w'", "no 'shape'"});
  expect_open_error(R"({"w":[1,2]})", "", {"tensor 'w'", "expected an object"});
}

TEST_CASE("io/safetensors bad input: fields of the wrong JSON type", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", "abcd", {"tensor 'w'", "dtype must be"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", "abcd", {"tensor 'w'", "shape"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "abcd", {"tensor 'w'", "shape"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", "abcd", {"tensor 'w'", "data_offsets"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}})", "abcd",
                    {"tensor 'w'", "data_offsets"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,4]}})", "abcd",
                    {"tensor 'w'", "data_offsets"});
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"strides":[1]}})", "abcd",
                    {"tensor 'w'", "unknown field 'strides'"});
}

TEST_CASE("io/safetensors bad input: unknown dtype", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"Q4_0","shape":[1],"data_offsets":[0,4]}})", "abcd",
                    {"tensor 'w'", "unknown dtype 'Q4_0'"});
  expect_open_error(R"({"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", "a", {"tensor 'w'", "'F4'"});
}

TEST_CASE("io/safetensors bad input: negative dimension", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,4]}})", "abcd",
                    {"tensor 'w'", "negative dimension -1"});
}

TEST_CASE("io/safetensors bad input: shape overflows 64 bits", "[io][safetensors][bad]") {
  // Element count overflows.
  expect_open_error(R"({"w":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}})", "",
                    {"tensor 'w'", "overflows"});
  // Element count fits, byte count (x4) does not; wraps to 0 if unchecked, matching [0,0].
  expect_open_error(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", "",
                    {"tensor 'w'", "overflows"});
  // A dimension that does not even fit int64.
  expect_open_error(R"({"w":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})", "",
                    {"tensor 'w'", "too large"});
}

TEST_CASE("io/safetensors bad input: begin after end", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[8,4]}})", std::string(8, 'x'),
                    {"tensor 'w'", "begin 8 > end 4"});
}

TEST_CASE("io/safetensors bad input: offsets past the end of the data", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}})", std::string(16, 'x'),
                    {"tensor 'w'", "past the end of the data section"});
}

TEST_CASE("io/safetensors bad input: byte size differs from shape x dtype", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", std::string(12, 'x'),
                    {"tensor 'w'", "needs 16 bytes"});
}

TEST_CASE("io/safetensors bad input: overlapping tensors", "[io][safetensors][bad]") {
  expect_open_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    std::string(12, 'x'), {"'a'", "'b'", "overlap"});
  // Two names for the same bytes.
  expect_open_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                    std::string(8, 'x'), {"'a'", "'b'", "overlap"});
  // A zero-size tensor inside another one.
  expect_open_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                    std::string(8, 'x'), {"'z'", "overlap"});
}

TEST_CASE("io/safetensors bad input: gaps and trailing bytes", "[io][safetensors][bad]") {
  expect_open_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                    std::string(12, 'x'), {"tensor 'b'", "4 unused bytes"});
  expect_open_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(8, 'x'),
                    {"4 trailing bytes"});
  expect_open_error("{}", "x", {"1 trailing bytes"});
}

TEST_CASE("io/safetensors bad input: duplicate tensor name", "[io][safetensors][bad]") {
  expect_open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    std::string(8, 'x'), {"duplicate tensor name 'w'"});
  expect_open_error(R"({"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}})", "abcd",
                    {"duplicate key 'dtype'", "'w'"});
}

TEST_CASE("io/safetensors bad input: __metadata__ not a string map", "[io][safetensors][bad]") {
  expect_open_error(R"({"__metadata__":{"format":1}})", "", {"__metadata__", "'format'"});
  expect_open_error(R"({"__metadata__":["pt"]})", "", {"__metadata__"});
  expect_open_error(R"({"__metadata__":{"a":{"b":"c"}}})", "", {"__metadata__"});
}
