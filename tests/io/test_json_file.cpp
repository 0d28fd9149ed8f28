// read_json_file: parse errors name the file and the byte offset.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "io/json_file.h"
#include "io_test_util.h"

using Catch::Matchers::Contains;
using pb::test::TempDir;
using pb::test::write_bytes;

TEST_CASE("io/json_file: reads a file", "[io][json]") {
  TempDir dir;
  const std::string path = write_bytes(dir.file("a.json"), R"({"a": [1, 2], "b": "x"})");
  const nlohmann::json j = pb::read_json_file(path);
  CHECK(j["a"][1] == 2);
  CHECK(j["b"] == "x");
}

TEST_CASE("io/json_file: invalid JSON names the file, byte offset, line and column", "[io][json]") {
  TempDir dir;
  // 'x' is byte 15 (from 0), line 2, column 7.
  const std::string path = write_bytes(dir.file("bad.json"), "{\"a\": 1,\n \"b\": x}");
  CHECK_THROWS_WITH(pb::read_json_file(path),
                    Contains(path) && Contains("invalid JSON at byte 15 ") && Contains("line 2, column 7"));
  // Truncated: the error is at the end of the text.
  const std::string cut = write_bytes(dir.file("cut.json"), "{\"a\": [1, 2");
  CHECK_THROWS_WITH(pb::read_json_file(cut), Contains(cut) && Contains("invalid JSON at byte 11 "));
  const std::string empty = write_bytes(dir.file("empty.json"), "");
  CHECK_THROWS_WITH(pb::read_json_file(empty), Contains(empty) && Contains("invalid JSON at byte 0 "));
}

TEST_CASE("io/json_file: a number too large for a double is a pb::Error naming the file", "[io][json]") {
  // Found by tests/fuzz: nlohmann throws out_of_range (not parse_error) for these.
  TempDir dir;
  const std::string path = write_bytes(dir.file("big.json"), R"({"image_size": 3e333})");
  CHECK_THROWS_AS(pb::read_json_file(path), pb::Error);
  CHECK_THROWS_WITH(pb::read_json_file(path), Contains(path) && Contains("number overflow parsing '3e333'"));
}

TEST_CASE("io/json_file: missing file and folder", "[io][json]") {
  TempDir dir;
  const std::string path = dir.file("absent.json");
  CHECK_THROWS_WITH(pb::read_json_file(path), Contains(path) && Contains("cannot open"));
  CHECK_THROWS_WITH(pb::read_json_file(dir.path()), Contains(dir.path()) && Contains("folder"));
}
