// Unicode character properties exactly as the reference Pythons see them (lower-casing, `\d`,
// Cased / Case_Ignorable for Greek final sigma), so answer normalisation matches byte for byte.
#pragma once

namespace pb::detail {

// Simple lower-case mapping of Python's str.lower(), without its two special cases (U+0130 and
// U+03A3, handled by py_lower). `python2`: only mappings that Python 2.7.18's unicode.lower()
// (Unicode 5.2) also has; otherwise Python 3.11 (Unicode 14.0). Returns c when c has none.
char32_t unicode_simple_lower(char32_t c, bool python2);

// What `\d` matches in a Python 3 str pattern: general category Nd (Unicode 14.0).
bool unicode_is_decimal(char32_t c);

// The two properties CPython's final-sigma rule reads (unicodeobject.c, handle_capital_sigma).
bool unicode_is_cased(char32_t c);
bool unicode_is_case_ignorable(char32_t c);

}  // namespace pb::detail
