// Answer scoring: the official and harness-specific VQA / TextVQA / GQA metrics, by name.
// docs/metrics.md says which code each mode follows and how to choose.
#pragma once

#include <string>
#include <vector>

#include "metrics/bootstrap.h"
#include "metrics/evalai_processor.h"

namespace pb {

enum class MetricMode {
  kOfficial,         // GT-Vision-Lab vqaEval.py on the raw prediction
  kLlavaSubmit,      // LLaVA's EvalAIAnswerProcessor on the prediction, then kOfficial
  kM4c,              // TextVQA m4c TextVQAAccuracyEvaluator (mmf / LLaVA)
  kAlwaysNormalize,  // lmms-eval vqav2 accuracy: official normaliser on both sides, always
  kVlmEvalKit,       // VLMEvalKit VQA score (process_line, method 'vqa_score')
  kGqaLlava,         // LLaVA convert_gqa_for_eval: pred.rstrip('.').lower() == answer
  kGqaLmmsEval,      // lmms-eval gqa exact_match: lower + delete punctuation on both sides
  kGqaVlmEvalKit,    // VLMEvalKit GQA: strip().lower() on both sides
};

// "official", "llava_submit", "m4c", "always_normalize", "vlmevalkit", "gqa_llava",
// "gqa_lmms_eval", "gqa_vlmevalkit". pb::Error naming the valid ones (and the closest) otherwise.
MetricMode metric_mode_from_name(const std::string& name);
const char* metric_mode_name(MetricMode mode);
// Every mode, in the order of the enum (the one registry).
std::vector<MetricMode> all_metric_modes();

struct AnswerScore {
  double score;                   // in [0, 1]
  std::string normalized_answer;  // the prediction as the mode compares it (for journals)
};

// Scores one prediction. VQA modes take any number >= 1 of human answers (10 in VQAv2/TextVQA;
// fewer than 4 caps the score below 1, one answer always scores 0, as the leave-one-out formula
// does). GQA modes compare with each answer and take the best (GQA has exactly one).
// pb::Error when `answers` is empty.
AnswerScore score_answer(MetricMode mode,
                         const std::string& prediction,
                         const std::vector<std::string>& answers);

}  // namespace pb
