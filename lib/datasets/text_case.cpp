// One-to-one case mapping over decoded UTF-8, mirroring CPython's tables for the blocks in text_case.h.
#include "datasets/text_case.h"

#include <cstdint>

namespace pb {
namespace {

// Decodes one UTF-8 character at `i`; returns its length, or 0 for an invalid byte.
size_t decode(const std::string& s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

void encode(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool in(uint32_t cp, uint32_t lo, uint32_t hi) { return cp >= lo && cp <= hi; }

// Latin Extended-A pairs: upper case on the even code point in some runs, on the odd one in others.
bool ext_a_upper_even(uint32_t cp) {
  return in(cp, 0x0100, 0x012F) || in(cp, 0x0132, 0x0137) || in(cp, 0x014A, 0x0177);
}
bool ext_a_upper_odd(uint32_t cp) { return in(cp, 0x0139, 0x0148) || in(cp, 0x0179, 0x017E); }

uint32_t to_lower(uint32_t cp) {
  if (in(cp, 'A', 'Z')) return cp + 0x20;
  if (in(cp, 0x00C0, 0x00DE) && cp != 0x00D7) return cp + 0x20;
  if (ext_a_upper_even(cp) && cp % 2 == 0) return cp + 1;
  if (ext_a_upper_odd(cp) && cp % 2 == 1) return cp + 1;
  if (cp == 0x0178) return 0x00FF;
  if (in(cp, 0x0410, 0x042F)) return cp + 0x20;
  if (in(cp, 0x0400, 0x040F)) return cp + 0x50;
  return cp;  // U+0130 lowers to two characters in Python; left as is
}

uint32_t to_upper(uint32_t cp) {
  if (in(cp, 'a', 'z')) return cp - 0x20;
  if (in(cp, 0x00E0, 0x00FE) && cp != 0x00F7) return cp - 0x20;
  if (cp == 0x00FF) return 0x0178;
  if (ext_a_upper_even(cp) && cp % 2 == 1) return cp - 1;
  if (ext_a_upper_odd(cp) && cp % 2 == 0) return cp - 1;
  if (cp == 0x0131) return 'I';
  if (cp == 0x017F) return 'S';
  if (in(cp, 0x0430, 0x044F)) return cp - 0x20;
  if (in(cp, 0x0450, 0x045F)) return cp - 0x50;
  return cp;  // U+00DF becomes "Ss" in Python; left as is
}

std::string map_case(const std::string& text, bool first_upper) {
  std::string out;
  out.reserve(text.size());
  bool first = true;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t len = decode(text, i, cp);
    if (len == 0) {
      out += text[i++];
    } else {
      encode(first && first_upper ? to_upper(cp) : to_lower(cp), out);
      i += len;
    }
    first = false;
  }
  return out;
}

}  // namespace

std::string python_lower(const std::string& text) { return map_case(text, false); }

std::string python_capitalize(const std::string& text) { return map_case(text, true); }

}  // namespace pb
