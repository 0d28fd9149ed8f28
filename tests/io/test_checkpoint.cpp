// Checkpoint: single files, sharded folders (golden tiny models) and inconsistent shard indexes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/json_file.h"
#include "io_test_util.h"
#include "test_paths.h"

using Catch::Matchers::Contains;
using pb::DType;
using pb::test::TempDir;
using pb::test::write_bytes;

namespace {

std::string golden(const std::string& rel) { return std::string(PB_TEST_DATA) + "/golden/" + rel; }

float bf16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f = 0;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// A folder with two shards: shard 1 holds a, b; shard 2 holds c. Returns the index path.
struct ShardedFixture {
  TempDir dir;
  float data[4] = {1, 2, 3, 4};
  std::string index;

  ShardedFixture() {
    pb::write_safetensors(dir.file("s1.safetensors"), {{"a", DType::kF32, {2}, data}, {"b", DType::kF32, {1}, data}});
    pb::write_safetensors(dir.file("s2.safetensors"), {{"c", DType::kF32, {4}, data}});
    index = dir.file("model.safetensors.index.json");
  }
  void write_index(const std::string& weight_map_json) {
    write_bytes(index, R"({"metadata": {"total_size": 28}, "weight_map": )" + weight_map_json + "}");
  }
};

}  // namespace

TEST_CASE("io/checkpoint: golden llava15-tiny, single fp32 file with legacy names", "[io][checkpoint]") {
  const std::string dir = golden("llava15-tiny");
  const pb::Checkpoint ckpt = pb::Checkpoint::open(dir);
  CHECK(ckpt.source() == dir + "/model.safetensors");
  CHECK(ckpt.size() == 89);
  const auto names = ckpt.names();
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(names.size() == 89);

  // Every tensor of a 3-layer CLIP (hidden 64) + 3-layer LLaMA (hidden 128, vocab 1024) + projector.
  struct Expect {
    const char* name;
    std::vector<int64_t> shape;
  };
  const Expect expected[] = {
      {"language_model.model.embed_tokens.weight", {1024, 128}},
      {"language_model.lm_head.weight", {1024, 128}},
      {"language_model.model.norm.weight", {128}},
      {"language_model.model.layers.2.self_attn.k_proj.weight", {128, 128}},
      {"language_model.model.layers.0.mlp.gate_proj.weight", {344, 128}},
      {"language_model.model.layers.1.mlp.down_proj.weight", {128, 344}},
      {"multi_modal_projector.linear_1.weight", {128, 64}},
      {"multi_modal_projector.linear_1.bias", {128}},
      {"multi_modal_projector.linear_2.weight", {128, 128}},
      {"vision_tower.vision_model.embeddings.class_embedding", {64}},
      {"vision_tower.vision_model.embeddings.patch_embedding.weight", {64, 3, 14, 14}},
      {"vision_tower.vision_model.embeddings.position_embedding.weight", {577, 64}},
      {"vision_tower.vision_model.encoder.layers.2.mlp.fc1.weight", {256, 64}},
      {"vision_tower.vision_model.pre_layrnorm.weight", {64}},
  };
  for (const Expect& e : expected) {
    INFO(e.name);
    const pb::TensorView* t = ckpt.find(e.name);
    REQUIRE(t != nullptr);
    CHECK(t->dtype == DType::kF32);
    CHECK(t->shape == e.shape);
  }
  for (const std::string& n : names) {
    const pb::TensorView* t = ckpt.find(n);
    REQUIRE(t != nullptr);
    CHECK(t->dtype == DType::kF32);
    CHECK(t->is_aligned());
  }
  CHECK(ckpt.total_bytes() == 4422400);  // the file's data section (file size - 8 - header)

  const pb::TensorView* norm = ckpt.find("language_model.model.norm.weight");
  std::vector<float> w(128);
  std::memcpy(w.data(), norm->data, norm->nbytes);
  CHECK(std::all_of(w.begin(), w.end(), [](float v) { return std::isfinite(v) && std::abs(v) < 100; }));

  // The file itself opens the same way.
  CHECK(pb::Checkpoint::open(dir + "/model.safetensors").size() == 89);
}

TEST_CASE("io/checkpoint: golden llava15-tiny-gqa, bf16 in two shards with an index", "[io][checkpoint]") {
  const std::string dir = golden("llava15-tiny-gqa");
  const pb::Checkpoint ckpt = pb::Checkpoint::open(dir);
  CHECK(ckpt.source() == dir + "/model.safetensors.index.json");
  REQUIRE(ckpt.files().size() == 2);

  const nlohmann::json index = pb::read_json_file(dir + "/model.safetensors.index.json");
  const auto& weight_map = index["weight_map"];
  CHECK(ckpt.size() == weight_map.size());
  for (const auto& [name, shard] : weight_map.items()) {
    INFO(name);
    const pb::TensorView* t = ckpt.find(name);
    REQUIRE(t != nullptr);
    CHECK(t->dtype == DType::kBF16);
    CHECK(t->file == dir + "/" + shard.get<std::string>());
  }
  CHECK(ckpt.total_bytes() == index["metadata"]["total_size"].get<size_t>());

  // GQA: 4 heads of 32, 2 KV heads -> k/v project 128 -> 64.
  CHECK(ckpt.find("model.language_model.layers.0.self_attn.k_proj.weight")->shape == std::vector<int64_t>{64, 128});
  CHECK(ckpt.find("model.language_model.layers.0.self_attn.q_proj.weight")->shape == std::vector<int64_t>{128, 128});
  CHECK(ckpt.find("lm_head.weight")->shape == std::vector<int64_t>{1024, 128});
  CHECK(ckpt.find("model.multi_modal_projector.linear_1.weight")->shape == std::vector<int64_t>{128, 64});
  CHECK(ckpt.find("model.vision_tower.vision_model.embeddings.patch_embedding.weight")->shape ==
        std::vector<int64_t>{64, 3, 14, 14});
  CHECK(ckpt.find("language_model.lm_head.weight") == nullptr);

  const pb::TensorView* embed = ckpt.find("model.language_model.embed_tokens.weight");
  REQUIRE(embed->is_aligned());
  const auto* raw = static_cast<const uint16_t*>(embed->data);
  bool any_nonzero = false;
  for (int64_t i = 0; i < embed->numel(); ++i) {
    const float v = bf16_to_float(raw[i]);
    REQUIRE(std::isfinite(v));
    any_nonzero |= v != 0.0f;
  }
  CHECK(any_nonzero);

  // Opening the index file directly is the same.
  CHECK(pb::Checkpoint::open(dir + "/model.safetensors.index.json").size() == ckpt.size());
}

TEST_CASE("io/checkpoint: crafted shards load and views outlive copies of the checkpoint", "[io][checkpoint]") {
  ShardedFixture f;
  f.write_index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"})");
  pb::Checkpoint outer;
  {
    const pb::Checkpoint ckpt = pb::Checkpoint::open(f.dir.path());
    CHECK(ckpt.names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(ckpt.total_bytes() == 28);
    outer = ckpt;  // copies share the mappings
  }
  const pb::TensorView* c = outer.find("c");
  REQUIRE(c != nullptr);
  float v[4];
  std::memcpy(v, c->data, sizeof v);
  CHECK(v[3] == 4.0f);
}

TEST_CASE("io/checkpoint bad input: missing shard", "[io][checkpoint][bad]") {
  ShardedFixture f;
  f.write_index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "model-00002-of-00002.safetensors"})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()),
                    Contains(f.index) && Contains("model-00002-of-00002.safetensors") && Contains("does not exist"));
}

TEST_CASE("io/checkpoint bad input: index names a tensor its shard lacks", "[io][checkpoint][bad]") {
  ShardedFixture f;
  f.write_index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "d": "s2.safetensors"})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()),
                    Contains(f.index) && Contains("'d'") && Contains("s2.safetensors") && Contains("does not contain"));
}

TEST_CASE("io/checkpoint bad input: the same tensor in two shards", "[io][checkpoint][bad]") {
  ShardedFixture f;
  float data[2] = {1, 2};
  pb::write_safetensors(f.dir.file("s2.safetensors"), {{"c", DType::kF32, {4}, f.data}, {"a", DType::kF32, {2}, data}});
  f.write_index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.index) && Contains("'a'") && Contains("two shards"));
}

TEST_CASE("io/checkpoint bad input: shard tensor missing from the index", "[io][checkpoint][bad]") {
  ShardedFixture f;
  f.write_index(R"({"a": "s1.safetensors", "c": "s2.safetensors"})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.index) && Contains("'b'") && Contains("not listed"));
}

TEST_CASE("io/checkpoint bad input: malformed index", "[io][checkpoint][bad]") {
  ShardedFixture f;
  f.write_index(R"(["a"])");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.index) && Contains("weight_map"));
  f.write_index(R"({"a": 1})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.index) && Contains("'a'"));
  f.write_index(R"({"a": "../s1.safetensors"})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.index) && Contains("plain file name"));
  write_bytes(f.index, R"({"weight_map": {"a": "s1.safetensors",})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.index) && Contains("invalid JSON at byte"));
}

TEST_CASE("io/checkpoint bad input: folder without weights, and a bad shard", "[io][checkpoint][bad]") {
  TempDir dir;
  CHECK_THROWS_WITH(pb::Checkpoint::open(dir.path()), Contains(dir.path()) && Contains("model.safetensors"));
  write_bytes(dir.file("pytorch_model.bin"), "pickle");
  CHECK_THROWS_WITH(pb::Checkpoint::open(dir.path()), Contains("prune-bench convert"));

  ShardedFixture f;
  write_bytes(f.dir.file("s2.safetensors"), "short");
  f.write_index(R"({"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"})");
  CHECK_THROWS_WITH(pb::Checkpoint::open(f.dir.path()), Contains(f.dir.file("s2.safetensors")));
}
