// Malformed, unsupported and non-BPE tokenizer.model files: always a pb::Error naming the file,
// never a crash or a silently wrong tokenizer.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "core/error.h"
#include "tokenizer/sentencepiece.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace {

const std::string kModelPath = std::string(PB_TEST_DATA) + "/golden/tokenizer/llama.model";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A scratch directory removed at the end of each test case.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("pb_tokenizer_test_" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string file = (path / name).string();
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
  }
};

// Protobuf wire-format pieces for hand-made and patched files.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string field_varint(uint32_t number, uint64_t v) { return varint(number << 3) + varint(v); }
std::string field_bytes(uint32_t number, const std::string& payload) {
  return varint((number << 3) | 2) + varint(payload.size()) + payload;
}

// Loading `path` must throw pb::Error whose message names the file and contains `phrase`.
void require_load_error(const std::string& path, const std::string& phrase) {
  INFO("file: " << path);
  try {
    pb::SentencePieceTokenizer::load(path);
    FAIL("loaded without error");
  } catch (const pb::Error& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find(phrase) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("sentencepiece model: missing, empty and truncated files", "[tokenizer]") {
  const ScratchDir dir;
  require_load_error((dir.path / "absent.model").string(), "does not exist");
  require_load_error(dir.path.string(), "not a regular file");
  require_load_error(dir.write("empty.model", ""), "is empty");

  const std::string genuine = read_bytes(kModelPath);
  for (const size_t size : {size_t{1}, size_t{2}, size_t{3}, size_t{100}, size_t{4097},
                            genuine.size() / 2, genuine.size() - 1}) {
    require_load_error(dir.write("cut" + std::to_string(size) + ".model", genuine.substr(0, size)),
                       "malformed protobuf");
  }
}

TEST_CASE("sentencepiece model: broken wire format", "[tokenizer]") {
  const ScratchDir dir;
  require_load_error(dir.write("a.model", "\x08"), "truncated varint");
  require_load_error(dir.write("b.model", "\x0A\xFF"), "truncated varint");
  require_load_error(dir.write("c.model", "\x0A\x05" "ab"), "claims 5 bytes");
  require_load_error(dir.write("d.model", std::string("\x0D\x00\x00\x00\x00", 5)), "wire type");
  require_load_error(dir.write("e.model", "\x0B"), "unsupported wire type 3");
  require_load_error(dir.write("f.model", std::string("\x00\x00", 2)), "invalid field number 0");
  require_load_error(dir.write("g.model", std::string(11, '\xFF')), "varint");
  // pieces[0].score as a varint instead of a float
  require_load_error(dir.write("h.model", field_bytes(1, field_varint(2, 7))), "score");
  // A fault inside a nested message is reported with its offset in the whole file.
  require_load_error(dir.write("i.model", "\x0A\x02\x0A\x05"), "byte 2");
}

TEST_CASE("sentencepiece model: random bytes never crash", "[tokenizer]") {
  const ScratchDir dir;
  std::mt19937 rng(20240601);
  for (int i = 0; i < 200; ++i) {
    std::string bytes(1 + rng() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const std::string path = dir.write("random" + std::to_string(i) + ".model", bytes);
    INFO("file: " << path);
    try {
      pb::SentencePieceTokenizer::load(path);
      FAIL("random bytes loaded as a model");
    } catch (const pb::Error& e) {
      CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
  }
}

TEST_CASE("sentencepiece model: well-formed but unusable models", "[tokenizer]") {
  const ScratchDir dir;
  const std::string genuine = read_bytes(kModelPath);
  // Appending a field overrides it (protobuf merges repeated messages, last scalar wins).
  require_load_error(dir.write("unigram.model", genuine + field_bytes(2, field_varint(3, 1))),
                     "model_type is UNIGRAM (1)");
  require_load_error(dir.write("word.model", genuine + field_bytes(2, field_varint(3, 3))),
                     "model_type is WORD");
  // A trainer_spec without model_type is UNIGRAM by the proto default.
  require_load_error(dir.write("default.model", field_bytes(1, field_bytes(1, "a"))), "UNIGRAM");
  require_load_error(dir.write("nopieces.model", field_bytes(2, field_varint(3, 2))), "no pieces");
  require_load_error(
      dir.write("nfkc.model", genuine + field_bytes(3, field_bytes(1, "nmt_nfkc") +
                                                          field_bytes(2, std::string(8, '\1')))),
      "precompiled character map");
  require_load_error(
      dir.write("twounk.model",
                genuine + field_bytes(1, field_bytes(1, "<unk2>") + field_varint(3, 2))),
      "second unknown piece");
  require_load_error(
      dir.write("dup.model", genuine + field_bytes(1, field_bytes(1, "\xE2\x96\x81"))),
      "already defined");
  require_load_error(dir.write("emptypiece.model", genuine + field_bytes(1, field_bytes(1, ""))),
                     "is empty");
  require_load_error(
      dir.write("badtype.model", genuine + field_bytes(1, field_bytes(1, "zz") + field_varint(3, 9))),
      "unknown piece type 9");
  require_load_error(
      dir.write("nobytefallback.model", genuine + field_bytes(2, field_varint(35, 0))),
      "byte_fallback is false");
  require_load_error(
      dir.write("badbyte.model",
                genuine + field_bytes(1, field_bytes(1, "<0xZZ>") + field_varint(3, 6))),
      "is invalid");
  // A BPE model with a byte piece missing.
  std::string minimal = field_bytes(1, field_bytes(1, "<unk>") + field_varint(3, 2)) +
                        field_bytes(1, field_bytes(1, "<0x00>") + field_varint(3, 6)) +
                        field_bytes(2, field_varint(3, 2) + field_varint(35, 1));
  require_load_error(dir.write("missingbytes.model", minimal), "<0x01> is missing");
  // ... and without unk.
  require_load_error(dir.write("nounk.model", field_bytes(1, field_bytes(1, "a")) +
                                                  field_bytes(2, field_varint(3, 2))),
                     "no unknown");
}

TEST_CASE("sentencepiece model: from_serialized names the source", "[tokenizer]") {
  CHECK_THROWS_WITH(pb::SentencePieceTokenizer::from_serialized("\x08", "in-memory"),
                    Catch::Contains("tokenizer model 'in-memory'"));
  // A minimal valid BPE model loads and encodes.
  const std::string model = field_bytes(1, field_bytes(1, "<unk>") + field_varint(3, 2)) +
                            field_bytes(1, field_bytes(1, "\xE2\x96\x81")) +
                            field_bytes(1, field_bytes(1, "a")) +
                            field_bytes(2, field_varint(3, 2));
  const auto tok = pb::SentencePieceTokenizer::from_serialized(model, "tiny");
  CHECK(tok.vocab_size() == 3);
  CHECK(tok.bos_id() == -1);
  CHECK(tok.encode("a b") == std::vector<int32_t>{1, 2, 1, 0});
  CHECK(tok.encode("bb") == std::vector<int32_t>{1, 0});  // a run of unknowns is one <unk>
}
