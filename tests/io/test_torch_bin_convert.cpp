// .bin -> safetensors conversion: the output, read back with the repository's own safetensors and
// checkpoint readers, holds exactly the fixture's tensors; shards get an index; failures write nothing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/torch_bin_convert.h"
#include "torch_bin_test_util.h"

using Catch::Matchers::Contains;
using pb::test::fixture_reference;
using pb::test::TempDir;
using pb::test::torch_bin_fixture;

namespace fs = std::filesystem;

namespace {

// Every tensor the reference lists is in `ckpt` with the same dtype, shape and bytes, and nothing else is.
void check_checkpoint(const pb::Checkpoint& ckpt, const nlohmann::json& ref) {
  CHECK(ckpt.size() == ref.size());
  for (const auto& [name, want] : ref.items()) {
    INFO(name);
    const pb::TensorView* t = ckpt.find(name);
    REQUIRE(t != nullptr);
    CHECK(pb::dtype_name(t->dtype) == want["dtype"].get<std::string>());
    CHECK(t->shape == want["shape"].get<std::vector<int64_t>>());
    CHECK(std::string(static_cast<const char*>(t->data), t->nbytes) == pb::test::unhex(want["hex"].get<std::string>()));
  }
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("io/convert: safetensors names follow transformers", "[io][convert]") {
  CHECK(pb::safetensors_name_for("pytorch_model.bin") == "model.safetensors");
  CHECK(pb::safetensors_name_for("pytorch_model-00001-of-00003.bin") == "model-00001-of-00003.safetensors");
  CHECK(pb::safetensors_name_for("mm_projector.bin") == "mm_projector.safetensors");
  CHECK(pb::safetensors_name_for("weights.pt") == "weights.safetensors");
  CHECK(pb::safetensors_name_for("weights") == "weights.safetensors");
}

TEST_CASE("io/convert: a state dict round-trips to identical tensors", "[io][convert]") {
  TempDir out;
  const pb::ConvertResult r = pb::convert_torch_checkpoint({torch_bin_fixture("state_dict.bin")}, out.path());
  REQUIRE(r.files.size() == 1);
  CHECK(r.index.empty());
  CHECK(r.files[0].output == out.file("state_dict.safetensors"));
  CHECK(r.files[0].tensors == 25);
  CHECK(files_in(out.path()) == std::vector<std::string>{"state_dict.safetensors"});
  const auto file = pb::SafetensorsFile::open(r.files[0].output);
  CHECK(file->metadata() == std::map<std::string, std::string>{{"format", "pt"}});
  check_checkpoint(pb::Checkpoint::open(r.files[0].output), fixture_reference("state_dict.json"));

  TempDir out4;  // the protocol 4 file holds the same tensors and converts to the same bytes
  const pb::ConvertResult r4 = pb::convert_torch_checkpoint({torch_bin_fixture("protocol4.bin")}, out4.path());
  CHECK(pb::test::read_bytes(r4.files[0].output) == pb::test::read_bytes(r.files[0].output));
}

TEST_CASE("io/convert: shards with an index become safetensors shards with an index", "[io][convert]") {
  const std::string src = torch_bin_fixture("sharded");
  nlohmann::json ref = fixture_reference("sharded/pytorch_model-00001-of-00002.json");
  ref.update(fixture_reference("sharded/pytorch_model-00002-of-00002.json"));
  // The folder, the index itself, and the shards listed one by one give the same checkpoint.
  const std::vector<std::vector<std::string>> ways = {
      {src},
      {src + "/pytorch_model.bin.index.json"},
      {src + "/pytorch_model-00001-of-00002.bin", src + "/pytorch_model-00002-of-00002.bin"},
  };
  for (const auto& inputs : ways) {
    INFO(inputs[0]);
    TempDir out;
    std::vector<std::string> reported;
    const pb::ConvertResult r = pb::convert_torch_checkpoint(
        inputs, out.path(), [&](const pb::ConvertedFile& f) { reported.push_back(f.output); });
    CHECK(reported.size() == 2);
    CHECK(r.index == out.file("model.safetensors.index.json"));
    CHECK(files_in(out.path()) == std::vector<std::string>{"model-00001-of-00002.safetensors",
                                                           "model-00002-of-00002.safetensors",
                                                           "model.safetensors.index.json"});
    const nlohmann::json index = pb::read_json_file(r.index);
    CHECK(index["metadata"]["total_size"] == 120);  // the source index's figure: no tensor shares storage
    CHECK(index["weight_map"]["lm_head.weight"] == "model-00002-of-00002.safetensors");
    check_checkpoint(pb::Checkpoint::open(out.path()), ref);
  }
}

TEST_CASE("io/convert: a failed conversion writes nothing", "[io][convert]") {
  TempDir out;
  // The second input is refused while every input is checked, before the first is written.
  CHECK_THROWS_WITH(
      pb::convert_torch_checkpoint({torch_bin_fixture("state_dict.bin"), torch_bin_fixture("malicious_os_system.bin")},
                                   out.path()),
      Contains("refusing to unpickle posix.system"));
  CHECK(files_in(out.path()).empty());

  // A storage that fails its CRC while being written: the shard's temporary file is removed.
  TempDir src;
  pb::test::ZipEntrySpec corrupt{"a/data/0", std::string(4, '\0')};
  corrupt.bad_crc = true;
  const std::string bin = pb::test::write_bytes(
      src.file("pytorch_model.bin"),
      pb::test::build_zip({{"a/data.pkl", pb::test::one_tensor_pickle("FloatStorage", 1, 0, {}, {})}, corrupt}));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({bin}, out.path()), Contains("is corrupt"));
  CHECK(files_in(out.path()).empty());
}

TEST_CASE("io/convert: refuses inconsistent inputs with the file at fault", "[io][convert]") {
  TempDir out;
  const std::string state = torch_bin_fixture("state_dict.bin");
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({state, state}, out.path()),
                    Contains("state_dict.bin would both be written to state_dict.safetensors"));
  TempDir copy;
  fs::copy_file(state, copy.file("other.bin"));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({state, copy.file("other.bin")}, out.path()),
                    Contains("tensor 'proj.weight' is in both") && Contains("other.bin"));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({}, out.path()), Contains("no input"));
  TempDir empty;
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({empty.path()}, out.path()),
                    Contains(empty.path()) && Contains("no pytorch_model.bin or pytorch_model.bin.index.json"));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({torch_bin_fixture("sharded"), state}, out.path()),
                    Contains("a folder must be the only input"));

  // Indexes that disagree with their shards.
  TempDir src;
  const std::string shard1 = torch_bin_fixture("sharded/pytorch_model-00001-of-00002.bin");
  fs::copy_file(shard1, src.file("pytorch_model-00001-of-00002.bin"));
  const auto index_with = [&](const std::string& weight_map) {
    return pb::test::write_bytes(src.file("pytorch_model.bin.index.json"), "{\"weight_map\": " + weight_map + "}");
  };
  const std::string one = "\"pytorch_model-00001-of-00002.bin\"";
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({index_with("{\"model.embed.weight\": " + one + "}")}, out.path()),
                    Contains("tensor 'model.layer.0.weight' is not listed in"));
  CHECK_THROWS_WITH(
      pb::convert_torch_checkpoint({index_with("{\"model.embed.weight\": " + one +
                                               ", \"model.layer.0.weight\": " + one + ", \"x\": " + one + "}")},
                                   out.path()),
      Contains("tensor 'x' is mapped to pytorch_model-00001-of-00002.bin but is not in it"));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({index_with("{\"a\": \"../pytorch_model.bin\"}")}, out.path()),
                    Contains("not a plain file name"));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({index_with("{\"a\": \"missing.bin\"}")}, out.path()),
                    Contains("missing.bin"));
  CHECK_THROWS_WITH(pb::convert_torch_checkpoint({index_with("[]")}, out.path()), Contains("not a shard index"));
  CHECK(files_in(out.path()).empty());
}
