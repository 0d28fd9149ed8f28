// UTF-8 helpers with libsentencepiece's exact rules (google/sentencepiece src/util.{h,cc} v0.1.97):
// what counts as one character decides how invalid input is replaced and how bytes are decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pb::detail {

inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";         // U+2581 "▁"
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";     // U+FFFD

// Byte length of a character judged by its lead byte alone (sentencepiece's OneCharLen):
// continuation and invalid lead bytes count as 1, F8..FF as 4.
inline size_t utf8_lead_length(char lead) {
  static constexpr uint8_t kLength[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLength[static_cast<uint8_t>(lead) >> 4];
}

// Decodes the first character of `s` (non-empty). Returns false for a structurally invalid
// sequence (bad trail byte, truncation, overlong form, surrogate, > U+10FFFF), which always has
// length 1: callers replace that one byte by U+FFFD and continue with the next byte. A literal
// U+FFFD in the input is valid.
inline bool decode_utf8_char(std::string_view s, size_t* length) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  const auto trail = [&](size_t i) { return (b(i) & 0xC0) == 0x80; };
  const auto valid_cp = [](uint32_t cp) { return cp < 0xD800 || (cp >= 0xE000 && cp <= 0x10FFFF); };
  const size_t n = s.size();
  const uint32_t lead = b(0);
  *length = 1;
  if (lead < 0x80) return true;
  if (n >= 2 && (lead & 0xE0) == 0xC0) {
    const uint32_t cp = ((lead & 0x1F) << 6) | (b(1) & 0x3F);
    if (trail(1) && cp >= 0x80 && valid_cp(cp)) {
      *length = 2;
      return true;
    }
  } else if (n >= 3 && (lead & 0xF0) == 0xE0) {
    const uint32_t cp = ((lead & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    if (trail(1) && trail(2) && cp >= 0x800 && valid_cp(cp)) {
      *length = 3;
      return true;
    }
  } else if (n >= 4 && (lead & 0xF8) == 0xF0) {
    const uint32_t cp =
        ((lead & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    if (trail(1) && trail(2) && trail(3) && cp >= 0x10000 && valid_cp(cp)) {
      *length = 4;
      return true;
    }
  }
  return false;
}

}  // namespace pb::detail
