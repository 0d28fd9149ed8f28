// Question text per protocol. LLaVA: the `text` field of llava/eval/model_vqa_loader.py's question
// files. lmms-eval (EvolvingLMMs-Lab/lmms-eval @ 75571cf): lmms_eval/tasks/{vqav2,gqa}/utils.py use
// pre_prompt + question + post_prompt; tasks/textvqa/utils.py textvqa_doc_to_text capitalize()s the
// question and adds the OCR line only with `ocr: true` (the default template has `ocr: false`);
// every default post_prompt is "\nAnswer the question using a single word or phrase.".
#include "datasets/question_text.h"

#include <fmt/format.h>

#include "core/error.h"
#include "datasets/text_case.h"

namespace pb {

const char* question_style_name(QuestionStyle style) {
  switch (style) {
    case QuestionStyle::kLlava15:
      return "llava15";
    case QuestionStyle::kLmmsEval:
      return "lmms-eval";
  }
  return "?";
}

std::string llava_ocr_line(const std::vector<std::string>& tokens) {
  std::string line = kOcrLinePrefix;
  for (size_t i = 0; i < tokens.size(); ++i) line += (i == 0 ? "" : ", ") + tokens[i];
  return line;
}

std::string question_text(const Sample& sample, DatasetKind kind, QuestionStyle style) {
  const std::string instruction = std::string("\n") + kShortAnswerInstruction;
  if (style == QuestionStyle::kLlava15) {
    if (!sample.llava_text.empty()) return sample.llava_text;
    if (kind != DatasetKind::kTextvqa) return sample.question + instruction;
    // LLaVA's TextVQA file always carries the OCR line, even with no tokens ("Reference OCR token: "
    // followed by the newline, 115 of 5,000 lines), so tokens must have been loaded at all.
    if (!sample.meta.is_object() || !sample.meta.contains("ocr_source")) {
      throw Error(fmt::format(
          "TextVQA question {}: no OCR tokens were loaded, but the llava15 prompt carries LLaVA's "
          "\"Reference OCR token:\" line; load the TextVQA json with ocr=TextVQA_Rosetta_OCR_v0.2_<split>.json",
          sample.question_id));
    }
    return python_capitalize(sample.question) + "\n" + llava_ocr_line(sample.ocr_tokens) + instruction;
  }
  if (kind == DatasetKind::kTextvqa) return python_capitalize(sample.question) + instruction;
  return sample.question + instruction;
}

}  // namespace pb
