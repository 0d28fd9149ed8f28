// Zip reader of .bin checkpoints: torch.save's own archives, hand-made ones, and one test per kind of
// malformed archive (each a one-line pb::Error naming the file).
#include <catch2/catch.hpp>

#include "core/error.h"
#include "io/zip_archive.h"
#include "torch_bin_test_util.h"

using Catch::Matchers::Contains;
using pb::test::build_zip;
using pb::test::TempDir;
using pb::test::write_bytes;
using pb::test::ZipEntrySpec;

namespace {

void expect_zip_error(const std::string& bytes, const std::vector<std::string>& fragments) {
  TempDir dir;
  const std::string path = write_bytes(dir.file("bad.bin"), bytes);
  try {
    pb::ZipArchive::open(path);
    FAIL("open() accepted a malformed archive");
  } catch (const pb::Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK_THAT(msg, Contains(path));
    CHECK(msg.find('\n') == std::string::npos);
    for (const std::string& f : fragments) CHECK_THAT(msg, Contains(f));
  }
}

}  // namespace

TEST_CASE("io/zip: reads the entries of a torch.save archive", "[io][zip]") {
  const auto zip = pb::ZipArchive::open(pb::test::torch_bin_fixture("state_dict.bin"));
  REQUIRE(zip->find("state_dict/data.pkl") != nullptr);
  REQUIRE(zip->find("state_dict/version") != nullptr);
  CHECK(zip->read(*zip->find("state_dict/version")) == "3\n");
  CHECK(zip->find("state_dict/data/7")->size == 48);  // views.base: 12 floats
  CHECK(zip->find("nothing") == nullptr);
  for (const pb::ZipArchive::Entry& e : zip->entries()) {
    CHECK(e.data_offset % 64 == 0);  // torch aligns every entry's data
    CHECK_NOTHROW(zip->read(e));     // and every CRC matches
  }
}

TEST_CASE("io/zip: reads hand-made archives with and without zip64 end records", "[io][zip]") {
  for (bool zip64 : {true, false}) {
    TempDir dir;
    const std::string path = write_bytes(
        dir.file("a.zip"), build_zip({{"a/x", "hello"}, {"a/empty", ""}, {"a/y", std::string(300, 'y')}}, zip64));
    const auto zip = pb::ZipArchive::open(path);
    REQUIRE(zip->entries().size() == 3);
    CHECK(zip->entries()[0].name == "a/x");
    CHECK(zip->read(*zip->find("a/x")) == "hello");
    CHECK(zip->read(*zip->find("a/empty")).empty());
    CHECK(zip->read(*zip->find("a/y")) == std::string(300, 'y'));
  }
}

TEST_CASE("io/zip: an end record after a comment is found", "[io][zip]") {
  std::string bytes = build_zip({{"a/x", "PK\x05\x06 inside data"}});
  bytes.replace(bytes.size() - 2, 2, pb::test::le16(7));
  bytes += "comment";
  TempDir dir;
  const auto zip = pb::ZipArchive::open(write_bytes(dir.file("c.zip"), bytes));
  CHECK(zip->read(*zip->find("a/x")) == "PK\x05\x06 inside data");
}

TEST_CASE("io/zip: refuses what is not a zip archive", "[io][zip]") {
  expect_zip_error("", {"not a zip archive"});
  expect_zip_error("short", {"not a zip archive"});
  expect_zip_error(std::string(100, 'x'), {"no end of central directory record"});
}

TEST_CASE("io/zip: refuses truncated archives", "[io][zip]") {
  const std::string whole = build_zip({{"a/data.pkl", std::string(100, 'p')}, {"a/data/0", std::string(64, 'd')}});
  // Every cut loses the end record, or leaves records pointing past the end.
  for (size_t keep : {whole.size() - 1, whole.size() - 22, whole.size() / 2, size_t{40}}) {
    INFO("kept " << keep << " of " << whole.size() << " bytes");
    expect_zip_error(whole.substr(0, keep), {});
  }
  // The end records kept but data cut out of the middle: the directory points past the data.
  const std::string tail = whole.substr(whole.size() - 400);
  expect_zip_error(whole.substr(0, 64) + tail, {});
}

TEST_CASE("io/zip: refuses compressed and encrypted entries", "[io][zip]") {
  ZipEntrySpec deflated{"a/data.pkl", "xx", 8};
  expect_zip_error(build_zip({deflated}), {"'a/data.pkl'", "compressed (method 8, deflate)", "re-save"});
  ZipEntrySpec encrypted{"a/data.pkl", "xx", 0, 1};
  expect_zip_error(build_zip({encrypted}), {"'a/data.pkl'", "encrypted"});
}

TEST_CASE("io/zip: refuses offsets and sizes past the end", "[io][zip]") {
  const std::string good = build_zip({{"a/x", "data"}}, /*zip64=*/false);
  const size_t dir = good.size() - 22 - (46 + 3);  // central directory: one entry named "a/x"

  std::string size_past_end = good;  // the entry's sizes claim 1 TB
  size_past_end.replace(dir + 20, 8, pb::test::le32(0xFFFFFFF0) + pb::test::le32(0xFFFFFFF0));
  expect_zip_error(size_past_end, {"'a/x'", "runs past"});

  std::string local_past_end = good;  // the local header offset points past the directory
  local_past_end.replace(dir + 42, 4, pb::test::le32(1'000'000));
  expect_zip_error(local_past_end, {"'a/x'", "no local header at offset 1000000"});

  std::string dir_past_end = good;  // the end record's directory offset
  dir_past_end.replace(good.size() - 6, 4, pb::test::le32(0x7FFFFFFF));
  expect_zip_error(dir_past_end, {"central directory", "runs past"});

  std::string too_many = good;  // 65535 entries cannot fit in a 49-byte directory
  too_many.replace(good.size() - 14, 4, pb::test::le16(0xFFFF) + pb::test::le16(0xFFFF));
  expect_zip_error(too_many, {"65535 entries"});

  std::string zip64 = build_zip({{"a/x", "data"}});
  const size_t locator = zip64.size() - 22 - 20;
  zip64.replace(locator + 8, 8, pb::test::le64(uint64_t{1} << 40));  // zip64 record "at 1 TB"
  expect_zip_error(zip64, {"zip64 locator points to offset 1099511627776"});
}

TEST_CASE("io/zip: refuses duplicate names, a wrong CRC and a mismatched local header", "[io][zip]") {
  expect_zip_error(build_zip({{"a/x", "1"}, {"a/x", "2"}}), {"'a/x' appears twice"});

  TempDir dir;
  ZipEntrySpec corrupt{"a/x", "data"};
  corrupt.bad_crc = true;
  const std::string path = write_bytes(dir.file("crc.zip"), build_zip({corrupt}));
  const auto zip = pb::ZipArchive::open(path);
  CHECK_THROWS_WITH(zip->read(*zip->find("a/x")), Contains(path) && Contains("'a/x' is corrupt (CRC-32"));

  std::string renamed = build_zip({{"a/x", "data"}});
  renamed[30] = 'b';  // the local header now names "b/x"
  expect_zip_error(renamed, {"'a/x'", "local header", "names another entry"});
}
