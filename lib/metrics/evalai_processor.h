// EvalAIAnswerProcessor of mmf (mmf/utils/m4c_evaluators.py), as vendored by LLaVA
// (llava/eval/m4c_evaluator.py) and lmms-eval (lmms_eval/tasks/_task_utils/vqa_eval_metric.py).
#pragma once

#include <string>
#include <string_view>

namespace pb {

// The processor applied to one answer (UTF-8 in, UTF-8 out), Python 3 semantics:
//   word_tokenize: lower-case; delete every ',' and '?'; "'s" -> " 's"; strip;
//   '\n' and '\t' -> ' '; strip;
//   process_punctuation (comma rule (?<=\d)(,)+(?=\d), which never fires here since the commas are
//   gone; 32-period cap) and process_digit_article.
// What LLaVA's convert_vqav2_for_submission.py uploads, and what m4c compares on both sides.
std::string evalai_process(const std::string& answer);

namespace detail {
std::u32string evalai_process(std::u32string_view answer);
}  // namespace detail

}  // namespace pb
