#include "metrics/evalai_processor.h"

#include "metrics/py_text.h"
#include "metrics/vqa_normalize.h"

namespace pb {

namespace detail {

std::u32string evalai_process(std::u32string_view answer) {
  constexpr PyVersion kPy3 = PyVersion::kPython3;
  // word_tokenize: the three str.replace calls run one after the other, so "'?s" becomes " 's".
  const std::u32string lowered = py_lower(answer, kPy3);
  std::u32string no_commas;
  no_commas.reserve(lowered.size());
  for (char32_t c : lowered) {
    if (c != U',' && c != U'?') no_commas += c;
  }
  std::u32string split_s;
  split_s.reserve(no_commas.size() + 8);
  for (size_t i = 0; i < no_commas.size(); ++i) {
    if (no_commas[i] == U'\'' && i + 1 < no_commas.size() && no_commas[i + 1] == U's') {
      split_s += U" 's";
      ++i;
    } else {
      split_s += no_commas[i];
    }
  }
  const std::u32string cleaned = py_clean_answer(py_strip(split_s, kPy3), kPy3);
  return normalize_answer(cleaned, kEvalAiPunctuation);
}

}  // namespace detail

std::string evalai_process(const std::string& answer) {
  return detail::py_encode(detail::evalai_process(detail::py_decode(answer)));
}

}  // namespace pb
