#include "metrics/py_text.h"

#include "metrics/unicode_tables.h"

namespace pb::detail {

namespace {

constexpr char32_t kEscapeBase = 0xDC00;  // surrogateescape: byte b >= 0x80 -> U+DC00 + b

// Length of the valid UTF-8 sequence at s[i], or 0 (strict decoding as CPython does it:
// no overlong forms, no surrogates, nothing above U+10FFFF).
size_t valid_sequence(std::string_view s, size_t i, char32_t* out) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b0 = b(0);
  if (b0 < 0x80) {
    *out = b0;
    return 1;
  }
  size_t len = 0;
  char32_t c = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char bk = b(k);
    if (bk < (k == 1 ? lo : 0x80) || bk > (k == 1 ? hi : 0xBF)) return 0;
    c = (c << 6) | (bk & 0x3Fu);
  }
  *out = c;
  return len;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// CPython's handle_capital_sigma (Objects/unicodeobject.c): U+03A3 lower-cases to final U+03C2
// when a cased letter precedes it and none follows it, skipping case-ignorable characters.
char32_t lower_capital_sigma(std::u32string_view text, size_t i) {
  size_t j = i;
  while (j > 0 && unicode_is_case_ignorable(text[j - 1])) --j;
  if (j == 0 || !unicode_is_cased(text[j - 1])) return 0x3C3;
  size_t k = i + 1;
  while (k < text.size() && unicode_is_case_ignorable(text[k])) ++k;
  return (k == text.size() || !unicode_is_cased(text[k])) ? 0x3C2 : 0x3C3;
}

}  // namespace

std::u32string py_decode(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    char32_t c = 0;
    const size_t len = valid_sequence(utf8, i, &c);
    if (len == 0) {
      out += kEscapeBase + static_cast<unsigned char>(utf8[i]);
      ++i;
    } else {
      out += c;
      i += len;
    }
  }
  return out;
}

std::string py_encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c >= kEscapeBase + 0x80 && c <= kEscapeBase + 0xFF) {
      out += static_cast<char>(c - kEscapeBase);
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

bool py_is_space(char32_t c, PyVersion version) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    case 0x180E:  // MONGOLIAN VOWEL SEPARATOR: Zs until Unicode 6.3, so only Python 2 strips it
      return version == PyVersion::kPython2;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool py_is_regex_digit(char32_t c, PyVersion version) {
  if (version == PyVersion::kPython2) return c >= '0' && c <= '9';
  return unicode_is_decimal(c);
}

std::u32string py_lower(std::u32string_view text, PyVersion version) {
  const bool py2 = version == PyVersion::kPython2;
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: SpecialCasing in Python 3 only
      out += U'i';
      if (!py2) out += char32_t{0x307};
    } else if (c == 0x3A3) {
      out += py2 ? char32_t{0x3C3} : lower_capital_sigma(text, i);
    } else {
      out += unicode_simple_lower(c, py2);
    }
  }
  return out;
}

std::u32string_view py_strip(std::u32string_view text, PyVersion version) {
  size_t b = 0, e = text.size();
  while (b < e && py_is_space(text[b], version)) ++b;
  while (e > b && py_is_space(text[e - 1], version)) --e;
  return text.substr(b, e - b);
}

std::vector<std::u32string_view> py_split(std::u32string_view text, PyVersion version) {
  std::vector<std::u32string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && py_is_space(text[i], version)) ++i;
    const size_t start = i;
    while (i < text.size() && !py_is_space(text[i], version)) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::u32string py_clean_answer(std::u32string_view text, PyVersion version) {
  std::u32string out(text);
  for (char32_t& c : out) {
    if (c == U'\n' || c == U'\t') c = U' ';
  }
  return std::u32string(py_strip(out, version));
}

}  // namespace pb::detail
