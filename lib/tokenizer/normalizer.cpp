#include "tokenizer/normalizer.h"

#include <algorithm>
#include <utility>

#include "tokenizer/utf8.h"

namespace pb::detail {

PrefixMatcher::PrefixMatcher(const std::vector<std::string>& symbols) : terminal_(1, false) {
  for (const std::string& symbol : symbols) {
    int32_t node = 0;
    for (const char c : symbol) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
      const auto [it, inserted] = edges_.try_emplace(key, static_cast<int32_t>(terminal_.size()));
      if (inserted) terminal_.push_back(false);
      node = it->second;
    }
    terminal_[static_cast<size_t>(node)] = true;
  }
}

size_t PrefixMatcher::match(std::string_view text, bool* found) const {
  size_t longest = 0;
  if (!empty()) {
    int32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto it =
          edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[i]));
      if (it == edges_.end()) break;
      node = it->second;
      if (terminal_[static_cast<size_t>(node)]) longest = i + 1;
    }
  }
  *found = longest > 0;
  if (*found) return longest;
  return std::min(text.size(), utf8_lead_length(text[0]));
}

namespace {

// The normalised form of the next unit of `input` and how many input bytes it consumes: a whole
// user-defined symbol, one valid character, or U+FFFD for one byte of invalid UTF-8.
std::pair<std::string_view, size_t> normalize_prefix(std::string_view input,
                                                     const PrefixMatcher& matcher) {
  bool found = false;
  const size_t symbol_length = matcher.match(input, &found);
  if (found) return {input.substr(0, symbol_length), symbol_length};
  size_t length = 0;
  if (!decode_utf8_char(input, &length)) return {kReplacementChar, 1};
  return {input.substr(0, length), length};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string normalize(std::string_view input, const NormalizerOptions& options,
                      const PrefixMatcher& matcher) {
  std::string out;
  if (options.remove_extra_whitespaces) {
    while (!input.empty()) {
      const auto [unit, consumed] = normalize_prefix(input, matcher);
      if (unit != " ") break;
      input.remove_prefix(consumed);
    }
  }
  if (input.empty()) return out;  // empty, or only spaces that were removed: no dummy prefix

  out.reserve(input.size() * 3);
  const std::string_view space = options.escape_whitespaces ? kSpaceSymbol : " ";
  const bool dummy = options.add_dummy_prefix;
  if (dummy && !options.treat_whitespace_as_suffix) out.append(space);

  bool is_prev_space = options.remove_extra_whitespaces;
  while (!input.empty()) {
    auto [unit, consumed] = normalize_prefix(input, matcher);
    // Collapse runs of spaces: drop a unit's leading spaces when the previous unit ended in one.
    while (is_prev_space && !unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    if (!unit.empty()) {
      for (const char c : unit) {
        if (c == ' ' && options.escape_whitespaces) {
          out.append(kSpaceSymbol);
        } else {
          out.push_back(c);
        }
      }
      is_prev_space = unit.back() == ' ';
    }
    input.remove_prefix(consumed);
    if (!options.remove_extra_whitespaces) is_prev_space = false;
  }

  if (options.remove_extra_whitespaces) {
    while (ends_with(out, space)) out.resize(out.size() - space.size());
  }
  if (dummy && options.treat_whitespace_as_suffix) out.append(space);
  return out;
}

}  // namespace pb::detail
