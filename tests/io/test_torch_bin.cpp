// .bin checkpoints: torch.save's files (tests/data/torch_bin) read to their exact contents, and one
// test per kind of refused file, each a one-line pb::Error naming the file and what is wrong.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "io/torch_bin.h"
#include "torch_bin_test_util.h"

using Catch::Matchers::Contains;
using pb::test::fixture_reference;
using pb::test::one_tensor_pickle;
using pb::test::TempDir;
using pb::test::torch_bin_fixture;
using pb::test::torch_zip;
using pb::test::write_bytes;

namespace {

std::string contents_of(const pb::TorchBinFile& file, const pb::TorchTensor& t) {
  std::string out;
  file.read_contents(t, [&](const void* data, size_t bytes) { out.append(static_cast<const char*>(data), bytes); });
  return out;
}

// Every tensor of `bin` matches the reference JSON exactly: names, order-independent; dtype, shape, bytes.
void check_against_reference(const std::string& bin, const std::string& reference_json) {
  const auto file = pb::TorchBinFile::open(torch_bin_fixture(bin));
  const nlohmann::json ref = fixture_reference(reference_json);
  REQUIRE(file->tensors().size() == ref.size());
  for (const pb::TorchTensor& t : file->tensors()) {
    INFO(bin << ": " << t.name);
    REQUIRE(ref.contains(t.name));
    CHECK(pb::dtype_name(t.dtype) == ref[t.name]["dtype"].get<std::string>());
    CHECK(t.shape == ref[t.name]["shape"].get<std::vector<int64_t>>());
    CHECK(contents_of(*file, t) == pb::test::unhex(ref[t.name]["hex"].get<std::string>()));
  }
}

std::string error_opening(const std::string& path) {
  try {
    pb::TorchBinFile::open(path);
  } catch (const pb::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Writes `bytes` as a .bin and expects open() to fail naming the file and every fragment.
void expect_bin_error(const std::string& bytes, const std::vector<std::string>& fragments) {
  TempDir dir;
  const std::string path = write_bytes(dir.file("model.bin"), bytes);
  const std::string msg = error_opening(path);
  INFO("message: " << msg);
  CHECK_THAT(msg, Contains(path));
  CHECK(msg.find('\n') == std::string::npos);
  for (const std::string& f : fragments) CHECK_THAT(msg, Contains(f));
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(v.begin()), v.size() * sizeof(float));
}

}  // namespace

TEST_CASE("io/torch_bin: reads torch.save's OrderedDict state dict bit-exactly", "[io][torch_bin]") {
  check_against_reference("state_dict.bin", "state_dict.json");
}

TEST_CASE("io/torch_bin: reads protocol 4 pickles and nn.Parameter entries", "[io][torch_bin]") {
  check_against_reference("protocol4.bin", "state_dict.json");
  check_against_reference("parameter.bin", "parameter.json");
  check_against_reference("sharded/pytorch_model-00002-of-00002.bin", "sharded/pytorch_model-00002-of-00002.json");
}

TEST_CASE("io/torch_bin: views keep their geometry and share one storage", "[io][torch_bin]") {
  const auto file = pb::TorchBinFile::open(torch_bin_fixture("state_dict.bin"));
  std::map<std::string, const pb::TorchTensor*> by_name;
  for (const pb::TorchTensor& t : file->tensors()) by_name[t.name] = &t;
  const pb::TorchTensor& base = *by_name.at("views.base");
  const pb::TorchTensor& transposed = *by_name.at("views.transposed");
  const pb::TorchTensor& slice = *by_name.at("views.slice");
  const pb::TorchTensor& row = *by_name.at("views.row");
  CHECK(base.is_contiguous());
  CHECK_FALSE(transposed.is_contiguous());
  CHECK(transposed.strides == std::vector<int64_t>{1, 4});
  CHECK_FALSE(slice.is_contiguous());
  CHECK(slice.offset == 4);
  CHECK(row.is_contiguous());
  CHECK(row.offset == 8);
  CHECK(transposed.storage == base.storage);
  CHECK(slice.storage == base.storage);
  CHECK(by_name.at("views.expanded")->strides == std::vector<int64_t>{0, 1});
  CHECK(by_name.at("views.tied")->storage == by_name.at("proj.weight")->storage);
  CHECK(by_name.at("shapes.scalar")->shape.empty());
  CHECK(by_name.at("shapes.scalar")->numel == 1);
  CHECK(by_name.at("shapes.empty")->nbytes == 0);
}

TEST_CASE("io/torch_bin: gathers large strided tensors in bounded pieces", "[io][torch_bin]") {
  // A 600 x 1000 fp32 transpose (2.4 MB): more than one gather buffer.
  const int64_t rows = 600, cols = 1000;
  std::string storage(static_cast<size_t>(rows * cols) * 4, '\0');
  for (int64_t i = 0; i < rows * cols; ++i) {
    const auto v = static_cast<float>(i);
    std::memcpy(&storage[static_cast<size_t>(i) * 4], &v, 4);
  }
  TempDir dir;
  const std::string path = write_bytes(
      dir.file("t.bin"),
      torch_zip(one_tensor_pickle("FloatStorage", rows * cols, 0, {cols, rows}, {1, cols}), {{"0", storage}}));
  const auto file = pb::TorchBinFile::open(path);
  size_t pieces = 0, largest = 0;
  std::string got;
  file->read_contents(file->tensors()[0], [&](const void* data, size_t bytes) {
    ++pieces;
    largest = std::max(largest, bytes);
    got.append(static_cast<const char*>(data), bytes);
  });
  CHECK(pieces == 3);
  CHECK(largest == pb::TorchBinFile::kGatherBytes);
  REQUIRE(got.size() == storage.size());
  for (int64_t c : {int64_t{0}, int64_t{1}, cols - 1}) {
    for (int64_t r : {int64_t{0}, int64_t{7}, rows - 1}) {
      float v = 0;
      std::memcpy(&v, &got[static_cast<size_t>(c * rows + r) * 4], 4);
      CHECK(v == static_cast<float>(r * cols + c));  // out[c][r] == in[r][c]
    }
  }
}

TEST_CASE("io/torch_bin: refuses legacy, bare-pickle, nested and TorchScript files", "[io][torch_bin]") {
  CHECK_THAT(error_opening(torch_bin_fixture("legacy.bin")),
             Contains("legacy.bin: legacy torch.save format") && Contains("_use_new_zipfile_serialization=False"));
  expect_bin_error(std::string("\x80\x02}q\0.", 6), {"a bare pickle stream, not a torch.save zip archive"});
  CHECK_THAT(error_opening(torch_bin_fixture("nested.bin")),
             Contains("nested.bin: entry 'model' is a dict, not a tensor") && Contains("state_dict()"));
  expect_bin_error(pb::test::build_zip({{"m/constants.pkl", "x"}, {"m/code/m.py", "x"}}),
                   {"TorchScript archive (torch.jit.save)"});
  expect_bin_error(pb::test::build_zip({{"m/other", "x"}}), {"no <folder>/data.pkl entry"});
  expect_bin_error(pb::test::build_zip({{"a/data.pkl", "x"}, {"b/data.pkl", "x"}}), {"2 entries named"});
  expect_bin_error(torch_zip(pb::test::PickleWriter().raw("K\x01").done(), {}),
                   {"data.pkl holds an int, not a state dict"});
}

TEST_CASE("io/torch_bin: refuses pickles that would run code, and runs nothing", "[io][torch_bin]") {
  const std::string marker = "/tmp/prune-bench-pickle-was-executed";
  std::filesystem::remove(marker);
  for (const char* bin : {"malicious_os_system.bin", "malicious_eval.bin"}) {
    const std::string msg = error_opening(torch_bin_fixture(bin));
    INFO(msg);
    CHECK_THAT(msg, Contains("refusing to unpickle") && Contains(bin) &&
                        Contains("only tensors, storages, dicts and OrderedDicts are allowed"));
  }
  CHECK_THAT(error_opening(torch_bin_fixture("malicious_os_system.bin")), Contains("posix.system"));
  CHECK_THAT(error_opening(torch_bin_fixture("malicious_eval.bin")), Contains("__builtin__.eval"));
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("io/torch_bin: refuses tensors outside their storage before reading any data", "[io][torch_bin]") {
  const std::string four = floats({1, 2, 3, 4});
  const auto bin = [&](int64_t numel, int64_t offset, const std::vector<int64_t>& shape,
                       const std::vector<int64_t>& strides) {
    return torch_zip(one_tensor_pickle("FloatStorage", numel, offset, shape, strides), {{"0", four}});
  };
  // Storage too small for the view: by shape, by stride, by offset.
  expect_bin_error(bin(4, 0, {5}, {1}), {"tensor 'w'", "reaches past its storage '0' of 4 elements"});
  expect_bin_error(bin(4, 0, {2, 2}, {3, 1}), {"tensor 'w'", "strides [3, 1]", "storage too small"});
  expect_bin_error(bin(4, 4, {1}, {1}), {"tensor 'w'", "at offset 4"});
  // A shape whose element count overflows 64 bits, and one whose strides do.
  expect_bin_error(bin(4, 0, {int64_t{1} << 40, int64_t{1} << 40}, {0, 0}), {"tensor 'w'", "overflows 64-bit sizes"});
  expect_bin_error(bin(4, 0, {2, 2}, {int64_t{1} << 62, int64_t{1} << 62}), {"tensor 'w'", "reaches past"});
  // An expanded view may repeat elements, but not into an oversized output.
  expect_bin_error(bin(4, 0, {int64_t{1} << 30, 4}, {0, 1}), {"tensor 'w'", "expanded view", "limit"});
  // The persistent id's element count must match the storage entry.
  expect_bin_error(bin(5, 0, {4}, {1}), {"storage '0' should hold 5 F32 elements but its entry has 16 bytes"});
  expect_bin_error(bin(int64_t{1} << 62, 0, {4}, {1}), {"storage '0' should hold"});
  expect_bin_error(torch_zip(one_tensor_pickle("FloatStorage", 4, 0, {4}, {1}), {}), {"storage '0' has no entry"});
  // A valid one, to be sure the cases above fail for their stated reason.
  TempDir dir;
  CHECK_NOTHROW(pb::TorchBinFile::open(write_bytes(dir.file("ok.bin"), bin(4, 1, {3}, {1}))));
}

TEST_CASE("io/torch_bin: refuses duplicate names, bad keys, big-endian and corrupt storages", "[io][torch_bin]") {
  pb::test::PickleWriter dup;
  dup.op('}').op('(').str("w").tensor("FloatStorage", "0", 1, 0, {}, {});
  dup.str("w").tensor("FloatStorage", "0", 1, 0, {}, {}).op('u');
  expect_bin_error(torch_zip(dup.done(), {{"0", floats({1})}}), {"tensor 'w' appears twice"});

  pb::test::PickleWriter int_key;
  int_key.op('}').raw("K\x01").tensor("FloatStorage", "0", 1, 0, {}, {}).op('s');
  expect_bin_error(torch_zip(int_key.done(), {{"0", floats({1})}}), {"state dict key #0 is an int"});

  pb::test::PickleWriter two_types;  // one storage named with two dtypes
  two_types.op('}').op('(').str("a").tensor("FloatStorage", "0", 1, 0, {}, {});
  two_types.str("b").tensor("IntStorage", "0", 1, 0, {}, {}).op('u');
  expect_bin_error(torch_zip(two_types.done(), {{"0", floats({1})}}),
                   {"storage '0' is named as 1 x F32 and as 1 x I32"});

  const std::string pickle = one_tensor_pickle("FloatStorage", 1, 0, {}, {});
  expect_bin_error(pb::test::build_zip({{"a/data.pkl", pickle}, {"a/byteorder", "big"}, {"a/data/0", floats({1})}}),
                   {"byteorder is 'big'"});
  TempDir dir;
  const std::string little = write_bytes(
      dir.file("little.bin"),
      pb::test::build_zip({{"a/data.pkl", pickle}, {"a/byteorder", "little"}, {"a/data/0", floats({1})}}));
  CHECK(pb::TorchBinFile::open(little)->tensors().size() == 1);

  pb::test::ZipEntrySpec corrupt{"a/data/0", floats({1})};
  corrupt.bad_crc = true;
  const std::string path = write_bytes(dir.file("corrupt.bin"), pb::test::build_zip({{"a/data.pkl", pickle}, corrupt}));
  const auto file = pb::TorchBinFile::open(path);  // storages are checked when first read
  CHECK_THROWS_WITH(contents_of(*file, file->tensors()[0]), Contains(path) && Contains("'a/data/0' is corrupt"));
}

TEST_CASE("io/torch_bin: every truncation of a real checkpoint is a clear error", "[io][torch_bin]") {
  const std::string whole = pb::test::read_bytes(torch_bin_fixture("parameter.bin"));
  TempDir dir;
  for (size_t keep = 0; keep < whole.size(); keep += 7) {
    const std::string path = write_bytes(dir.file("cut.bin"), whole.substr(0, keep));
    const std::string msg = error_opening(path);
    INFO("kept " << keep << " bytes: " << msg);
    CHECK_THAT(msg, Contains(path));
  }
}
