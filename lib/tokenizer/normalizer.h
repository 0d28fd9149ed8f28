// SentencePiece text normalisation for models without a precompiled character map ("identity"):
// whitespace handling and escaping, user-defined symbols kept whole, invalid UTF-8 replaced.
// Mirrors google/sentencepiece src/normalizer.cc (v0.1.97).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pb::detail {

// Longest-prefix matcher over the model's USER_DEFINED pieces (sentencepiece's PrefixMatcher).
// Without symbols, a "match" is one character by its lead byte.
class PrefixMatcher {
 public:
  explicit PrefixMatcher(const std::vector<std::string>& symbols = {});

  // Length of the longest symbol that prefixes `text` (non-empty); `*found` tells whether it was
  // a symbol or just the first character.
  size_t match(std::string_view text, bool* found) const;
  bool empty() const { return terminal_.size() <= 1; }

 private:
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> child node
  std::vector<bool> terminal_;                   // node ends a symbol; node 0 is the root
};

struct NormalizerOptions {
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
  bool treat_whitespace_as_suffix = false;  // from TrainerSpec: the dummy "▁" goes at the end
};

// Normalises `input` as libsentencepiece does before the model sees it: optionally drops leading,
// trailing and repeated spaces, adds the dummy "▁", turns ' ' into "▁", and replaces every byte
// that does not start a valid UTF-8 character by U+FFFD.
std::string normalize(std::string_view input, const NormalizerOptions& options,
                      const PrefixMatcher& matcher);

}  // namespace pb::detail
