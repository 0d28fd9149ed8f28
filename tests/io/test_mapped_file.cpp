// MappedFile: the read-only mapping the safetensors and zip readers validate in place.
#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "core/error.h"
#include "io/mapped_file.h"
#include "io_test_util.h"

using Catch::Matchers::Contains;
using pb::test::TempDir;
using pb::test::write_bytes;

TEST_CASE("io/mapped_file: maps the bytes, survives a move, maps an empty file to size 0", "[io]") {
  TempDir dir;
  const std::string bytes("ab\0cd", 5);
  pb::MappedFile a = pb::MappedFile::open(write_bytes(dir.file("f"), bytes), "test file");
  REQUIRE(a.size() == 5);
  CHECK(std::string(reinterpret_cast<const char*>(a.data()), 5) == bytes);
  const pb::MappedFile b = std::move(a);
  CHECK(a.size() == 0);
  CHECK(a.data() == nullptr);
  CHECK(std::string(reinterpret_cast<const char*>(b.data()), 5) == bytes);
  const pb::MappedFile empty = pb::MappedFile::open(write_bytes(dir.file("e"), ""), "test file");
  CHECK(empty.size() == 0);
  CHECK(empty.data() == nullptr);
}

TEST_CASE("io/mapped_file: a missing file and a folder are one-line errors naming path and kind", "[io][bad]") {
  TempDir dir;
  CHECK_THROWS_WITH(pb::MappedFile::open(dir.file("absent"), "zip archive"),
                    Contains(dir.file("absent")) && Contains("cannot open zip archive"));
  CHECK_THROWS_WITH(pb::MappedFile::open(dir.path(), "zip archive"),
                    Contains("cannot open zip archive: not a regular file"));
}
