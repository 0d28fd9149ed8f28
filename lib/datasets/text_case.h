// Python's str.lower() and str.capitalize() on UTF-8 text, for the places where LLaVA and lmms-eval
// apply them to questions (TextVQA prompt text, LLaVA's ground-truth join).
#pragma once

#include <string>

namespace pb {

// Case mapping covers ASCII, Latin-1 Supplement, Latin Extended-A and basic Cyrillic, where Python's
// mapping is one character to one character; other characters (and invalid UTF-8 bytes) pass
// through unchanged. Every question in LLaVA's TextVQA and GQA files is ASCII apart from U+00B4,
// which has no case.
std::string python_lower(const std::string& text);
// First character upper case, the rest lower case, as Python's str.capitalize().
std::string python_capitalize(const std::string& text);

}  // namespace pb
