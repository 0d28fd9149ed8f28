// The answer normaliser shared (with small differences) by every VQA-accuracy implementation:
// processPunctuation then processDigitArticle of GT-Vision-Lab vqaEval.py, and its copies in
// mmf/LLaVA (EvalAIAnswerProcessor), lmms-eval and VLMEvalKit.
#pragma once

#include <string>
#include <string_view>

#include "metrics/py_text.h"

namespace pb::detail {

// Which "digit, comma, digit" regex flips processPunctuation into delete mode.
enum class CommaRule {
  kSingleComma,  // (\d)(\,)(\d)        vqaEval.py, VLMEvalKit vlmeval/smp/misc.py
  kCommaRun,     // (?<=\d)(\,)+(?=\d)   mmf/LLaVA m4c_evaluator.py, lmms-eval vqa_eval_metric.py
};

// Which periods the period regex deletes (at most 32 of them: every implementation passes
// re.UNICODE == 32 as the positional `count` argument of Pattern.sub).
enum class PeriodRule {
  kNotBeforeDigit,  // (?!<=\d)(\.)(?!\d): the "(?!<=" typo is a look-ahead that never fires at a
                    // '.', so only "not followed by a digit" counts (vqaEval.py, mmf, lmms-eval)
  kNotBesideDigit,  // (?<!\d)\.(?!\d): the intended look-behind (VLMEvalKit): "3." keeps its '.'
};

struct PunctuationRules {
  CommaRule comma;
  PeriodRule period;
  PyVersion python;  // decides what `\d` matches
};

inline constexpr PunctuationRules kOfficialPunctuation{
    CommaRule::kSingleComma, PeriodRule::kNotBeforeDigit, PyVersion::kPython2};
inline constexpr PunctuationRules kEvalAiPunctuation{
    CommaRule::kCommaRun, PeriodRule::kNotBeforeDigit, PyVersion::kPython3};
inline constexpr PunctuationRules kVlmEvalKitPunctuation{
    CommaRule::kSingleComma, PeriodRule::kNotBesideDigit, PyVersion::kPython3};

// processPunctuation: each of the 21 punctuation characters is deleted when the input contains it
// next to a space (or contains a digit-comma-digit match), and becomes a space otherwise; then
// the period rule runs on the result.
std::u32string process_punctuation(std::u32string_view text, const PunctuationRules& rules);

// processDigitArticle: lower-case, split on whitespace, map number words zero..ten (and "none")
// to digits, drop a/an/the, expand apostrophe-less contractions, join with single spaces.
std::u32string process_digit_article(std::u32string_view text, PyVersion version);

// Both steps, in the order every implementation applies them.
std::u32string normalize_answer(std::u32string_view text, const PunctuationRules& rules);

// UTF-8 conveniences for tests and tools.
std::string process_punctuation(const std::string& text, const PunctuationRules& rules);
std::string process_digit_article(const std::string& text, PyVersion version);

}  // namespace pb::detail
