// The user-message text of one sample under a named protocol: what follows "<image>\n" in the prompt.
#pragma once

#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace pb {

// LLaVA-1.5's short-answer instruction (docs/Evaluation.md; every VQAv2/GQA/TextVQA question file
// line ends with "\n" + this) and the OCR line prefix of llava_textvqa_val_v051_ocr.jsonl.
inline constexpr const char* kShortAnswerInstruction = "Answer the question using a single word or phrase.";
inline constexpr const char* kOcrLinePrefix = "Reference OCR token: ";

enum class QuestionStyle {
  kLlava15,   // haotian-liu/LLaVA question files (scripts/v1_5/eval/*.sh)
  kLmmsEval,  // lmms-eval tasks vqav2_val / textvqa_val (ocr: false) / gqa, default prompts
};

const char* question_style_name(QuestionStyle style);  // "llava15" | "lmms-eval"

// kLlava15: llava_text when the sample came from a LLaVA question file; otherwise the question and
//   "\n" + kShortAnswerInstruction, with TextVQA's question capitalize()d and LLaVA's OCR line
//   "\n" + kOcrLinePrefix + tokens joined by ", " in between. pb::Error for a TextVQA sample without
//   OCR tokens loaded (a TextVQA json loaded without ocr=), since the prompt would silently differ.
// kLmmsEval: question + "\n" + kShortAnswerInstruction; TextVQA's question capitalize()d, no OCR.
std::string question_text(const Sample& sample, DatasetKind kind, QuestionStyle style);

// LLaVA's OCR line for `tokens`, without the leading newline: "Reference OCR token: a, b".
std::string llava_ocr_line(const std::vector<std::string>& tokens);

}  // namespace pb
