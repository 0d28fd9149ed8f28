// Python string semantics on UTF-8 text, for reproducing the reference scorers exactly: they are
// Python programs, so "lower-case", "strip", "split" and `\d` mean what CPython makes of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pb::detail {

// Which interpreter ran the reference: GT-Vision-Lab vqaEval.py is Python 2 code (unicode strings
// from json.load, regexes compiled without re.UNICODE); everything else is Python 3.
enum class PyVersion { kPython2, kPython3 };

// UTF-8 -> code points like Python's bytes.decode('utf-8', 'surrogateescape'): each byte that is
// not part of a valid sequence becomes U+DC80..U+DCFF, and py_encode restores it, so no input is
// rejected and odd bytes survive into journals unchanged.
std::u32string py_decode(std::string_view utf8);
std::string py_encode(std::u32string_view text);

// str.isspace() of one code point (Python 2 also counts U+180E).
bool py_is_space(char32_t c, PyVersion version);
// What the regex `\d` matches: [0-9] for Python 2 patterns compiled without re.UNICODE,
// category Nd for Python 3 str patterns.
bool py_is_regex_digit(char32_t c, PyVersion version);

// str.lower(). Python 3: full mapping (U+0130 -> "i" U+0307) and the final-sigma rule for U+03A3.
// Python 2: the simple per-character mapping of Unicode 5.2.
std::u32string py_lower(std::u32string_view text, PyVersion version);
// str.strip() / str.rstrip() with no argument.
std::u32string_view py_strip(std::u32string_view text, PyVersion version);
// str.split() with no argument: runs of whitespace separate, no empty pieces.
std::vector<std::u32string_view> py_split(std::u32string_view text, PyVersion version);

// answer.replace('\n', ' ').replace('\t', ' ').strip(), the first step of every VQA scorer.
std::u32string py_clean_answer(std::u32string_view text, PyVersion version);

}  // namespace pb::detail
