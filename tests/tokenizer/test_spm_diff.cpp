// Differential test: pb::SentencePieceTokenizer against the real libsentencepiece (Debian's
// 0.1.97) on a large generated corpus, for the genuine LLaMA model and for patched variants that
// exercise the normaliser options, user-defined, unused and byte-fallback-free models. This binary
// links libsentencepiece and therefore never LibTorch (their protobufs clash).
#include <catch2/catch.hpp>
#include <sentencepiece_processor.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/question_text.h"
#include "synth/sample.h"
#include "tokenizer/prompt.h"
#include "tokenizer/protobuf_reader.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/sentencepiece_model.h"
#include "test_paths.h"

namespace {

const std::string kModelPath = std::string(PB_TEST_DATA) + "/golden/tokenizer/llama.model";
constexpr uint64_t kSeed = 0x5EED2024;
constexpr size_t kMainCorpusSize = 25000;
constexpr size_t kVariantCorpusSize = 3000;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// ---- protobuf writing, to patch models -------------------------------------------------------

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
std::string field_float(uint32_t number, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  std::string out = varint((number << 3) | 5);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  return out;
}
std::string piece_message(const std::string& piece, float score, pb::PieceType type) {
  return field_bytes(1, field_bytes(1, piece) + field_float(2, score) +
                            field_varint(3, static_cast<uint64_t>(type)));
}

// Re-serializes `model` with every piece's type given by `retype`; other fields are copied.
std::string retype_pieces(const std::string& model,
                          const std::function<pb::PieceType(const pb::SentencePieceEntry&)>& retype) {
  const auto parsed = pb::parse_sentencepiece_model(model, "retype");
  pb::detail::ProtobufReader reader(model, "retype");
  pb::detail::ProtobufField f;
  std::string out;
  size_t k = 0;
  while (reader.next(f)) {
    REQUIRE(f.wire_type == pb::detail::WireType::kLengthDelimited);
    if (f.number == 1) {
      const auto& e = parsed.pieces.at(k++);
      out += piece_message(e.piece, e.score, retype(e));
    } else {
      out += field_bytes(f.number, std::string(f.bytes));
    }
  }
  return out;
}

// ---- corpus ----------------------------------------------------------------------------------

std::string utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

class CorpusGenerator {
 public:
  CorpusGenerator(uint64_t seed, const pb::SentencePieceTokenizer& tok) : rng_(seed), tok_(tok) {}

  std::string next() {
    const uint32_t r = uniform(0, 99);
    // Mostly prompt-sized strings, a few long ones (up to several KB).
    const uint32_t atoms = r < 85 ? uniform(1, 12) : r < 99 ? uniform(13, 60) : uniform(100, 500);
    std::string s;
    for (uint32_t i = 0; i < atoms; ++i) {
      if (i > 0 && uniform(0, 9) < 6) s.push_back(' ');
      s += atom();
    }
    return s;
  }

 private:
  uint32_t uniform(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[uniform(0, static_cast<uint32_t>(v.size() - 1))];
  }
  std::string repeat(uint32_t lo, uint32_t hi, const std::function<std::string()>& f) {
    std::string s;
    for (uint32_t n = uniform(lo, hi); n > 0; --n) s += f();
    return s;
  }

  std::string atom() {
    static const std::vector<std::string> kWords = {
        "the", "What", "is", "color", "bus", "Answer", "question", "using", "single", "word",
        "phrase", "USER:", "ASSISTANT:", "image", "OCR", "token", "don't", "it's", "e-mail",
        "http://example.com/a?b=c", "3.14159", "-42", "1,000", "x", "A", "I", "Hello", "world"};
    static const std::vector<std::string> kMarkup = {
        "<s>", "</s>", "<unk>", "<pad>", "<image>", "<im", "<0x0A>", "<0xZZ>", "\xE2\x96\x81",
        "\xE2\x96\x81\xE2\x96\x81", "xyz xyz", "<imag", "qzq", "\xE2\x96\x81qzx", "\n\n\n",
        "\xF0\x9F\xA7\xA9\xF0\x9F\xA7\xA9"};
    static const std::vector<std::string> kInvalid = {
        "\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80", "\xED\xBF\xBF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80", "\xFE", "\xFF", "\xC3",
        "\xE2\x96", "\xF0\x9F\x9A", "\xC3\x28", "\xE2\x28\xA1", "\xF0\x28\x8C\x28"};
    static const std::vector<uint32_t> kSpecial = {
        0x00A0, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x2581, 0xFFFD, 0x3000, 0x2028,
        0x2029, 0x0085, 0x180E, 0x202F, 0x1680, 0xFE0F, 0x00AD, 0x034F};
    // [lo, hi] code point ranges: CJK, kana, Hangul, Cyrillic, Greek, Arabic, Hebrew, Devanagari,
    // Thai, Latin-1/Extended, CJK Ext B (4-byte), math symbols.
    static const std::vector<std::pair<uint32_t, uint32_t>> kScripts = {
        {0x4E00, 0x9FFF}, {0x3040, 0x30FF}, {0xAC00, 0xD7A3}, {0x0400, 0x04FF}, {0x0370, 0x03FF},
        {0x0600, 0x06FF}, {0x05D0, 0x05EA}, {0x0900, 0x097F}, {0x0E00, 0x0E7F}, {0x00C0, 0x024F},
        {0x20000, 0x2A6DF}, {0x2200, 0x22FF}};
    static const std::vector<std::pair<uint32_t, uint32_t>> kEmoji = {
        {0x1F300, 0x1F5FF}, {0x1F600, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F900, 0x1F9FF},
        {0x2600, 0x26FF}};
    static const std::string kPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    static const std::string kWs = " \t\n\r\v\f";

    switch (uniform(0, 15)) {
      case 0:
      case 1: {
        std::string w = pick(kWords);
        if (uniform(0, 4) == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
        return w;
      }
      case 2:
      case 3: {  // a vocabulary piece as text, to exercise long merges
        std::string piece = tok_.id_to_piece(static_cast<int32_t>(uniform(259, 31999)));
        for (size_t p; (p = piece.find("\xE2\x96\x81")) != std::string::npos;) piece.replace(p, 3, " ");
        return piece;
      }
      case 4: return repeat(1, 12, [&] { return std::string(1, static_cast<char>(uniform(0, 1) ? 'a' + uniform(0, 25) : 'A' + uniform(0, 25))); });
      case 5: return repeat(1, 10, [&] { return std::string(1, static_cast<char>('0' + uniform(0, 9))); });
      case 6: return repeat(1, 4, [&] { return std::string(1, kPunct[uniform(0, static_cast<uint32_t>(kPunct.size() - 1))]); });
      case 7: return repeat(1, 6, [&] { return std::string(1, uniform(0, 2) ? ' ' : kWs[uniform(0, 5)]); });
      case 8: {
        const auto& range = pick(kScripts);
        return repeat(1, 8, [&] { return utf8(uniform(range.first, range.second)); });
      }
      case 9: {  // emoji, sometimes with skin tone, VS16 or ZWJ sequences
        return repeat(1, 3, [&] {
          std::string e = utf8(uniform(pick(kEmoji).first, pick(kEmoji).second));
          const uint32_t k = uniform(0, 5);
          if (k == 0) e += utf8(uniform(0x1F3FB, 0x1F3FF));
          if (k == 1) e += utf8(0xFE0F);
          if (k == 2) e += utf8(0x200D) + utf8(uniform(0x1F466, 0x1F469));
          return e;
        });
      }
      case 10: {  // base letter plus combining marks
        return repeat(1, 3, [&] {
          return std::string(1, static_cast<char>('a' + uniform(0, 25))) +
                 repeat(1, 3, [&] { return utf8(uniform(0x0300, 0x036F)); });
        });
      }
      case 11: return repeat(1, 3, [&] { return utf8(pick(kSpecial)); });
      case 12: return pick(kMarkup);
      case 13: {  // any valid code point
        return repeat(1, 4, [&] {
          uint32_t cp;
          do cp = uniform(0x80, 0x10FFFF); while (cp >= 0xD800 && cp <= 0xDFFF);
          return utf8(cp);
        });
      }
      case 14: return uniform(0, 1) ? pick(kInvalid) : repeat(1, 6, [&] { return std::string(1, static_cast<char>(uniform(0, 255))); });
      default: return repeat(1, 3, [&] { return std::string(1, static_cast<char>(uniform(0, 2) ? uniform(0, 31) : 127)); });
    }
  }

  std::mt19937_64 rng_;
  const pb::SentencePieceTokenizer& tok_;
};

std::vector<std::string> make_corpus(size_t n, uint64_t seed, const pb::SentencePieceTokenizer& tok) {
  CorpusGenerator gen(seed, tok);
  std::vector<std::string> corpus = {"", " ", "  ", "\t", "a", "\xFF"};
  while (corpus.size() < n) corpus.push_back(gen.next());
  return corpus;
}

std::string escaped(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    }
  }
  return out.size() > 400 ? out.substr(0, 400) + "..." : out;
}

template <typename T>
std::string join(const std::vector<T>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out + "]";
}

// Both tokenizers built from the same serialized model.
struct Twins {
  std::unique_ptr<sentencepiece::SentencePieceProcessor> spm;
  std::unique_ptr<pb::SentencePieceTokenizer> ours;

  explicit Twins(const std::string& model) : spm(new sentencepiece::SentencePieceProcessor) {
    const auto status = spm->LoadFromSerializedProto(model);
    INFO("libsentencepiece: " << status.ToString());
    REQUIRE(status.ok());
    ours.reset(new pb::SentencePieceTokenizer(pb::SentencePieceTokenizer::from_serialized(model, "diff")));
  }
};

// Encodes and decodes every string with both; reports the first few differences.
void compare_on_corpus(const Twins& t, const std::vector<std::string>& corpus) {
  size_t mismatches = 0;
  for (const std::string& s : corpus) {
    std::vector<int> expected;
    REQUIRE(t.spm->Encode(s, &expected).ok());
    const std::vector<int32_t> got = t.ours->encode(s);
    const std::vector<int32_t> want(expected.begin(), expected.end());
    std::string expected_text;
    REQUIRE(t.spm->Decode(expected, &expected_text).ok());
    const std::string got_text = t.ours->decode(want);
    if (got != want || got_text != expected_text) {
      if (++mismatches <= 3) {
        FAIL_CHECK("text " << escaped(s) << "\n  spm ids  " << join(want) << "\n  our ids  "
                           << join(got) << "\n  spm text " << escaped(expected_text)
                           << "\n  our text " << escaped(got_text));
      }
    }
  }
  INFO(mismatches << " of " << corpus.size() << " strings differ");
  CHECK(mismatches == 0);
}

// Decodes random id sequences (bytes, controls and <unk> over-represented) with both.
void compare_random_decode(const Twins& t, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto vocab = static_cast<uint32_t>(t.ours->vocab_size());
  const auto uniform = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  size_t mismatches = 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<int> ids(uniform(0, 40));
    for (int& id : ids) {
      const uint32_t k = uniform(0, 9);
      id = static_cast<int>(k < 3 ? uniform(3, 258) : k < 4 ? uniform(0, 2) : k < 5 ? 29871 : uniform(0, vocab - 1));
    }
    std::string expected;
    REQUIRE(t.spm->Decode(ids, &expected).ok());
    const std::string got = t.ours->decode(std::vector<int32_t>(ids.begin(), ids.end()));
    if (got != expected && ++mismatches <= 3) {
      FAIL_CHECK("ids " << join(ids) << "\n  spm " << escaped(expected) << "\n  our " << escaped(got));
    }
  }
  CHECK(mismatches == 0);
}

const std::string& genuine_model() {
  static const std::string bytes = read_bytes(kModelPath);
  return bytes;
}

const pb::SentencePieceTokenizer& genuine() {
  static const auto tok = pb::SentencePieceTokenizer::load(kModelPath);
  return tok;
}

}  // namespace

TEST_CASE("spm diff: LLaMA model, generated corpus", "[spm]") {
  const Twins t(genuine_model());
  CHECK(t.ours->vocab_size() == t.spm->GetPieceSize());
  CHECK(t.ours->bos_id() == t.spm->bos_id());
  CHECK(t.ours->eos_id() == t.spm->eos_id());
  CHECK(t.ours->unk_id() == t.spm->unk_id());
  CHECK(t.ours->pad_id() == t.spm->pad_id());
  for (int32_t id = 0; id < t.ours->vocab_size(); ++id) {
    const std::string piece = t.spm->IdToPiece(id);
    if (t.ours->id_to_piece(id) != piece || t.ours->piece_to_id(piece) != t.spm->PieceToId(piece)) {
      FAIL("piece table differs at id " << id);
    }
  }
  compare_on_corpus(t, make_corpus(kMainCorpusSize, kSeed, genuine()));
  compare_random_decode(t, 5000, kSeed + 1);
}

TEST_CASE("spm diff: normalizer and trainer options", "[spm]") {
  const std::string& base = genuine_model();
  const std::vector<std::pair<const char*, std::string>> variants = {
      {"add_dummy_prefix=false", base + field_bytes(3, field_varint(3, 0))},
      {"remove_extra_whitespaces=true", base + field_bytes(3, field_varint(4, 1))},
      {"escape_whitespaces=false", base + field_bytes(3, field_varint(5, 0))},
      {"no prefix, remove whitespace",
       base + field_bytes(3, field_varint(3, 0) + field_varint(4, 1))},
      {"treat_whitespace_as_suffix=true", base + field_bytes(2, field_varint(24, 1))},
      {"suffix and remove whitespace",
       base + field_bytes(2, field_varint(24, 1)) + field_bytes(3, field_varint(4, 1))},
      {"unk_surface set", base + field_bytes(2, field_bytes(44, "<?>"))},
  };
  uint64_t seed = kSeed + 100;
  for (const auto& [name, model] : variants) {
    SECTION(name) {
      const Twins t(model);
      compare_on_corpus(t, make_corpus(kVariantCorpusSize, seed, genuine()));
      compare_random_decode(t, 1000, seed + 1);
    }
    seed += 10;
  }
}

TEST_CASE("spm diff: user-defined pieces", "[spm]") {
  using pb::PieceType;
  // None of these is a LLaMA piece; "<imag" and "<image>" overlap, "xyz xyz" holds a raw space.
  const std::vector<std::string> symbols = {"<image>", "<imag", "qzq", "xyz xyz",
                                            "\xE2\x96\x81qzx", "\n\n\n", "\xF0\x9F\xA7\xA9\xF0\x9F\xA7\xA9"};
  std::string model = genuine_model();
  for (const auto& symbol : symbols) {
    REQUIRE(genuine().piece_to_id(symbol) == genuine().unk_id());
    model += piece_message(symbol, 0, PieceType::kUserDefined);
  }
  model += piece_message("<ctl>", 0, PieceType::kControl);
  const Twins t(model);
  compare_on_corpus(t, make_corpus(kVariantCorpusSize, kSeed + 200, genuine()));
  compare_random_decode(t, 1000, kSeed + 201);
}

TEST_CASE("spm diff: unused pieces are merged then split back", "[spm]") {
  // Every third multi-character normal piece becomes UNUSED.
  size_t k = 0;
  const std::string model = retype_pieces(genuine_model(), [&](const pb::SentencePieceEntry& e) {
    if (e.type == pb::PieceType::kNormal && e.piece.size() > 3 && (k++ % 3) == 0) {
      return pb::PieceType::kUnused;
    }
    return e.type;
  });
  const Twins t(model);
  compare_on_corpus(t, make_corpus(kVariantCorpusSize, kSeed + 300, genuine()));
  compare_random_decode(t, 1000, kSeed + 301);
}

TEST_CASE("spm diff: without byte fallback, unknown runs become one <unk>", "[spm]") {
  // Byte pieces become normal pieces named "<0xXX>" and byte_fallback is switched off.
  const std::string model =
      retype_pieces(genuine_model(),
                    [](const pb::SentencePieceEntry& e) {
                      return e.type == pb::PieceType::kByte ? pb::PieceType::kNormal : e.type;
                    }) +
      field_bytes(2, field_varint(35, 0));
  const Twins t(model);
  compare_on_corpus(t, make_corpus(kVariantCorpusSize, kSeed + 400, genuine()));
  compare_random_decode(t, 1000, kSeed + 401);
}

// Not part of ctest (hidden tag); run `pb_spm_diff_tests "[.bench]"` to measure encode speed.
TEST_CASE("spm diff: encode speed", "[.bench]") {
  const Twins t(genuine_model());
  const auto corpus = make_corpus(kMainCorpusSize, kSeed, genuine());
  size_t bytes = 0;
  for (const auto& s : corpus) bytes += s.size();
  const auto time_ms = [](const std::function<void()>& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  size_t sink = 0;
  const double ours_ms = time_ms([&] {
    for (const auto& s : corpus) sink += t.ours->encode(s).size();
  });
  const double spm_ms = time_ms([&] {
    for (const auto& s : corpus) sink += t.spm->EncodeAsIds(s).size();
  });
  std::cout << corpus.size() << " strings, " << bytes << " bytes: ours " << ours_ms << " ms ("
            << bytes / ours_ms / 1e3 << " MB/s), libsentencepiece " << spm_ms << " ms ("
            << bytes / spm_ms / 1e3 << " MB/s) [" << sink << "]\n";
}

TEST_CASE("spm diff: the SynthVQA model's tokenizer on SynthVQA prompts and answers", "[spm]") {
  // models/synthvqa-tiny/tokenizer.model, trained by apps/synth-tokenizer: ours must encode the
  // embedded benchmark's text exactly as libsentencepiece does.
  const Twins t(read_bytes(std::string(PB_SOURCE_DIR) + "/models/synthvqa-tiny/tokenizer.model"));
  CHECK(t.ours->vocab_size() == t.spm->GetPieceSize());
  // Text outside the training corpus too: byte fallback, other scripts, odd spacing.
  std::vector<std::string> corpus = {"", " ", "  a", "\t", "\xFF", "Qu'est-ce que c'est ?", "数字 42", "  two  spaces  "};
  for (int64_t i = 0; i < 600; ++i) {
    const pb::synth::Sample s = pb::synth::make_sample("val", 0, i);
    corpus.push_back(pb::build_prompt(pb::PromptTemplate::kVicunaV1, s.question.text + "\n" + pb::kShortAnswerInstruction));
    corpus.push_back(s.question.answer);
    if (s.scene.has_sign) corpus.push_back(pb::llava_ocr_line({s.scene.sign.text}));
  }
  compare_on_corpus(t, corpus);
}
