// SentencePieceTokenizer against golden ids from the real libsentencepiece 0.1.97 on the genuine
// LLaMA tokenizer.model (tests/data/golden/tokenizer, provenance in its README).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/sentencepiece.h"
#include "test_paths.h"

namespace {

const std::string kGoldenDir = std::string(PB_TEST_DATA) + "/golden/tokenizer";

const pb::SentencePieceTokenizer& llama() {
  static const pb::SentencePieceTokenizer tok =
      pb::SentencePieceTokenizer::load(kGoldenDir + "/llama.model");
  return tok;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string join(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  return out + "]";
}

}  // namespace

TEST_CASE("sentencepiece: LLaMA special ids and pieces", "[tokenizer]") {
  const auto& tok = llama();
  CHECK(tok.vocab_size() == 32000);
  CHECK(tok.unk_id() == 0);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.pad_id() == -1);  // LLaMA has no <pad> piece
  CHECK(tok.id_to_piece(0) == "<unk>");
  CHECK(tok.id_to_piece(1) == "<s>");
  CHECK(tok.id_to_piece(2) == "</s>");
  CHECK(tok.id_to_piece(3) == "<0x00>");
  CHECK(tok.id_to_piece(13) == "<0x0A>");
  CHECK(tok.id_to_piece(258) == "<0xFF>");
  CHECK(tok.id_to_piece(29871) == "\xE2\x96\x81");
  CHECK(tok.piece_to_id("\xE2\x96\x81") == 29871);
  CHECK(tok.piece_to_id("<0x0A>") == 13);
  CHECK(tok.piece_to_id("</s>") == 2);
  CHECK(tok.piece_to_id("no such piece") == 0);
  CHECK(tok.piece_type(1) == pb::PieceType::kControl);
  CHECK(tok.piece_type(13) == pb::PieceType::kByte);
  CHECK(tok.piece_type(29871) == pb::PieceType::kNormal);
  CHECK_THROWS_AS(tok.id_to_piece(32000), pb::Error);
  CHECK_THROWS_AS(tok.id_to_piece(-1), pb::Error);
}

TEST_CASE("sentencepiece: golden corpus ids from libsentencepiece 0.1.97", "[tokenizer]") {
  const auto golden = read_json(kGoldenDir + "/llama_corpus_ids.json");
  const auto& cases = golden.at("cases");
  REQUIRE(cases.size() == 2024);
  size_t mismatches = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto text = cases[i].at("text").get<std::string>();
    const auto expected = cases[i].at("ids").get<std::vector<int32_t>>();
    const auto got = llama().encode(text);
    if (got != expected) {
      if (mismatches == 0) {
        FAIL_CHECK("first mismatch, case " << i << ": " << quoted(text) << "\n  expected "
                                           << join(expected) << "\n  got      " << join(got));
      }
      ++mismatches;
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("sentencepiece: decode(encode(s)) == s on the golden corpus", "[tokenizer]") {
  // Holds for valid UTF-8 with add_dummy_prefix and no whitespace removal: decode drops exactly
  // the one "▁" that encode added. A literal "▁" in the text comes back as a space, as in
  // libsentencepiece.
  const auto golden = read_json(kGoldenDir + "/llama_corpus_ids.json");
  size_t mismatches = 0;
  size_t with_literal_space_symbol = 0;
  for (const auto& c : golden.at("cases")) {
    const auto text = c.at("text").get<std::string>();
    std::string expected = text;
    for (size_t p; (p = expected.find("\xE2\x96\x81")) != std::string::npos;) {
      expected.replace(p, 3, " ");
    }
    with_literal_space_symbol += expected != text;
    const std::string decoded = llama().decode(llama().encode(text));
    if (decoded != expected && mismatches++ == 0) {
      FAIL_CHECK("first mismatch: " << quoted(text) << " decodes to " << quoted(decoded));
    }
  }
  CHECK(with_literal_space_symbol > 0);
  CHECK(mismatches == 0);
}

TEST_CASE("sentencepiece: encode edge cases", "[tokenizer]") {
  const auto& tok = llama();
  CHECK(tok.encode("").empty());
  CHECK(tok.encode(" ") == std::vector<int32_t>{259});  // "▁▁"
  CHECK(tok.encode("\n") == std::vector<int32_t>{29871, 13});
  // Text that looks like special pieces is ordinary text to SentencePiece.
  CHECK(tok.encode("<s>") == std::vector<int32_t>{529, 29879, 29958});
  // Each byte of invalid UTF-8 is normalised to U+FFFD before the model sees it.
  CHECK(tok.encode("a\xFF" "b") == tok.encode("a\xEF\xBF\xBD" "b"));
  CHECK(tok.encode("\xC0\x80") == tok.encode("\xEF\xBF\xBD\xEF\xBF\xBD"));  // overlong NUL
  CHECK(tok.encode("\xED\xA0\x80") == tok.encode("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
  // A NUL byte is a character like any other (its byte piece <0x00> = id 3).
  CHECK(tok.encode(std::string("a\0b", 3)) == std::vector<int32_t>{263, 3, 29890});
  // No dummy prefix: the HF legacy=false continuation after a special token.
  CHECK(tok.encode_without_dummy_prefix("\nWhat") == std::vector<int32_t>{13, 5618});
  CHECK(tok.encode_without_dummy_prefix("").empty());
}

TEST_CASE("sentencepiece: decode follows libsentencepiece", "[tokenizer]") {
  const auto& tok = llama();
  CHECK(tok.decode({}).empty());
  CHECK(tok.decode({1, 450, 2}) == "The");                     // controls are invisible
  CHECK(tok.decode({1, 29871, 13}) == "\n");                   // the dummy "▁" alone
  CHECK(tok.decode({29871, 29871}) == " ");                    // only the first "▁" is dropped
  CHECK(tok.decode({13, 29871}) == "\n ");                     // bytes count as text
  CHECK(tok.decode({0}) == " \xE2\x81\x87 ");                  // <unk> -> " ⁇ "
  CHECK(tok.decode({3 + 0xF0, 3 + 0x9F, 3 + 0x9A, 3 + 0x80}) == "\xF0\x9F\x9A\x80");  // 🚀
  // Each byte that does not start a valid character becomes U+FFFD on its own.
  CHECK(tok.decode({3 + 0xE2, 3 + 0x82}) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(tok.decode({3 + 0xE2, 450, 3 + 0x82, 3 + 0xAC}) == "\xEF\xBF\xBD" " The\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK_THROWS_AS(tok.decode({5, 32000}), pb::Error);
  CHECK_THROWS_AS(tok.decode({-1}), pb::Error);
  // Generated ids: EOS and llava-hf's padding rows (32000..32063, no piece) decode to nothing.
  CHECK(tok.decode_generated({450, 32000, 32063, 2}, 2) == "The");
  CHECK(tok.decode_generated({450, 2, 450}, 2) == "The The");
  CHECK(tok.decode_generated({32005}, 2).empty());
}

TEST_CASE("sentencepiece: copies share the model and give the same ids", "[tokenizer]") {
  const pb::SentencePieceTokenizer copy = llama();
  CHECK(copy.encode("Hello world") == llama().encode("Hello world"));
  CHECK(copy.encode("Hello world") == std::vector<int32_t>{15043, 3186});
}
