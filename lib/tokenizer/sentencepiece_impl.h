// Private state of SentencePieceTokenizer, shared by its load, encode and decode files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/normalizer.h"
#include "tokenizer/piece_index.h"
#include "tokenizer/sentencepiece.h"

namespace pb {

namespace detail {
// "<0x0A>" -> 10, exactly the spelling libsentencepiece writes ("<0x%02X>"); -1 otherwise.
inline int byte_of_piece(std::string_view piece) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  const int hi = hex(piece[3]);
  const int lo = hex(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}
}  // namespace detail

struct SentencePieceTokenizer::Impl {
  std::string source;  // "tokenizer model '<path>'", for error messages
  // The pieces by id, column-wise (the merge loop reads only strings and scores).
  std::vector<std::string> piece_str;
  std::vector<float> score;
  std::vector<PieceType> types;

  // As libsentencepiece's ModelInterface: NORMAL, USER_DEFINED and UNUSED pieces can be produced
  // by merges; CONTROL, UNKNOWN and BYTE pieces are only found by exact lookup (reserved wins).
  detail::PieceIndex mergeable{&piece_str};
  detail::PieceIndex reserved{&piece_str};
  int32_t model_unk = -1;  // the UNKNOWN piece: what an absent piece maps to

  bool byte_fallback = false;
  bool has_unused = false;
  std::array<int32_t, 256> byte_ids{};  // <0xXX> piece ids when byte_fallback is on

  detail::NormalizerOptions normalizer;
  detail::PrefixMatcher matcher;  // USER_DEFINED pieces
  std::string unk_surface;

  int32_t bos = -1, eos = -1, unk = -1, pad = -1;

  explicit Impl(SentencePieceModelProto model, std::string source_name);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  int32_t lookup(std::string_view piece) const {
    if (const int32_t id = reserved.find(piece); id >= 0) return id;
    if (const int32_t id = mergeable.find(piece); id >= 0) return id;
    return model_unk;
  }
  PieceType type(int32_t id) const { return types[static_cast<size_t>(id)]; }
  size_t size() const { return piece_str.size(); }
  void check_id(int32_t id) const;
};

}  // namespace pb
