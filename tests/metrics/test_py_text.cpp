// Python string semantics (what "lower", "strip", "split" and `\d` mean to the reference scorers).
#include <catch2/catch.hpp>

#include "metrics/py_text.h"

using pb::detail::py_decode;
using pb::detail::py_encode;
using pb::detail::PyVersion;

namespace {

constexpr PyVersion kPy2 = PyVersion::kPython2;
constexpr PyVersion kPy3 = PyVersion::kPython3;

std::string lower(const std::string& s, PyVersion v) {
  return py_encode(pb::detail::py_lower(py_decode(s), v));
}

std::string strip(const std::string& s, PyVersion v) {
  const std::u32string t = py_decode(s);
  return py_encode(pb::detail::py_strip(t, v));
}

}  // namespace

TEST_CASE("metrics: py_decode/py_encode round-trip any bytes (surrogateescape)",
          "[metrics][text]") {
  CHECK(py_decode("a\xC3\xA9") == U"a\u00E9");
  // A lone continuation byte, a truncated sequence, an overlong '/', an encoded surrogate.
  const std::string odd = "x\x80y\xE2\x82z\xC0\xAF\xED\xA0\x80";
  const std::u32string d = py_decode(odd);
  CHECK(d.size() == 11);
  CHECK(d[1] == 0xDC80);
  CHECK(d[3] == 0xDCE2);
  CHECK(py_encode(d) == odd);
  CHECK(py_encode(U"\U0001F600") == "\xF0\x9F\x98\x80");
}

TEST_CASE("metrics: py_lower follows Python 3 str.lower and Python 2 unicode.lower",
          "[metrics][text]") {
  CHECK(lower("YES Dog", kPy3) == "yes dog");
  // U+0130: full mapping "i" + U+0307 in Python 3, plain "i" in Python 2.
  CHECK(lower("\xC4\xB0", kPy3) == "i\xCC\x87");
  CHECK(lower("\xC4\xB0", kPy2) == "i");
  // Greek capital sigma: final form after a cased letter at a word end (Python 3 only).
  CHECK(lower("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3", kPy3) == "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82");
  CHECK(lower("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3", kPy2) == "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83");
  CHECK(lower("\xCE\xA3", kPy3) == "\xCF\x83");                    // nothing cased before it
  CHECK(lower("\xCE\x91\xCE\xA3.", kPy3) == "\xCE\xB1\xCF\x82.");  // '.' is case-ignorable
  CHECK(lower("\xCE\x91\xCE\xA3\xCE\x91", kPy3) == "\xCE\xB1\xCF\x83\xCE\xB1");
  CHECK(lower("\xCE\x91'\xCE\xA3", kPy3) == "\xCE\xB1'\xCF\x82");  // apostrophe too
  // Cherokee U+13A0 lower-cases to U+AB70 since Unicode 8: Python 3 only.
  CHECK(lower("\xE1\x8E\xA0", kPy3) == "\xEA\xAD\xB0");
  CHECK(lower("\xE1\x8E\xA0", kPy2) == "\xE1\x8E\xA0");
  CHECK(lower("\xC3\x89"
              "COLE \xC7\x85",
              kPy3) ==
        "\xC3\xA9"
        "cole \xC7\x86");                                        // E-acute, titlecase DZ-caron
  CHECK(lower("\xF0\x90\x90\x80", kPy2) == "\xF0\x90\x90\xA8");  // astral (Deseret) in both
}

TEST_CASE("metrics: py_strip and py_split use Python's whitespace", "[metrics][text]") {
  CHECK(strip(" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f yes \xC2\x85\xC2\xA0\xE3\x80\x80", kPy3) == "yes");
  CHECK(strip("\xE2\x80\x8B"
              "yes",
              kPy3) ==
        "\xE2\x80\x8B"
        "yes");  // ZERO WIDTH SPACE is not
  // U+180E was whitespace until Unicode 6.3: Python 2 strips it, Python 3 does not.
  CHECK(strip("\xE1\xA0\x8Eyes", kPy2) == "yes");
  CHECK(strip("\xE1\xA0\x8Eyes", kPy3) == "\xE1\xA0\x8Eyes");
  const std::u32string t = U"  fire \u00A0 hydrant\u3000 ";
  const auto parts = pb::detail::py_split(t, kPy3);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == U"fire");
  CHECK(parts[1] == U"hydrant");
  CHECK(pb::detail::py_split(U" \t ", kPy3).empty());
  CHECK(pb::detail::py_clean_answer(U"\tyes\nno \n", kPy3) == U"yes no");
}

TEST_CASE("metrics: regex \\d is ASCII in Python 2 patterns, category Nd in Python 3",
          "[metrics][text]") {
  using pb::detail::py_is_regex_digit;
  CHECK(py_is_regex_digit(U'7', kPy2));
  CHECK(py_is_regex_digit(U'7', kPy3));
  CHECK_FALSE(py_is_regex_digit(0x663, kPy2));  // ARABIC-INDIC DIGIT THREE
  CHECK(py_is_regex_digit(0x663, kPy3));
  CHECK(py_is_regex_digit(0xFF19, kPy3));      // FULLWIDTH DIGIT NINE
  CHECK(py_is_regex_digit(0x1D7FF, kPy3));     // MATHEMATICAL MONOSPACE DIGIT NINE
  CHECK_FALSE(py_is_regex_digit(0xB2, kPy3));  // SUPERSCRIPT TWO is No, not Nd
  CHECK_FALSE(py_is_regex_digit(U'a', kPy3));
}
