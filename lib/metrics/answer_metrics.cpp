#include "metrics/answer_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "core/error.h"
#include "metrics/py_text.h"
#include "metrics/vqa_accuracy.h"
#include "metrics/vqa_normalize.h"

namespace pb {

namespace {

using detail::PyVersion;
using detail::VqaMean;
constexpr PyVersion kPy2 = PyVersion::kPython2;
constexpr PyVersion kPy3 = PyVersion::kPython3;

struct ModeEntry {
  MetricMode mode;
  const char* name;
};

// The registry: every mode once, in enum order. Adding a mode = one line here + one case below.
constexpr ModeEntry kModes[] = {
    {MetricMode::kOfficial, "official"},
    {MetricMode::kLlavaSubmit, "llava_submit"},
    {MetricMode::kM4c, "m4c"},
    {MetricMode::kAlwaysNormalize, "always_normalize"},
    {MetricMode::kVlmEvalKit, "vlmevalkit"},
    {MetricMode::kGqaLlava, "gqa_llava"},
    {MetricMode::kGqaLmmsEval, "gqa_lmms_eval"},
    {MetricMode::kGqaVlmEvalKit, "gqa_vlmevalkit"},
};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::u32string> decode_all(const std::vector<std::string>& answers) {
  std::vector<std::u32string> out;
  out.reserve(answers.size());
  for (const std::string& a : answers) out.push_back(detail::py_decode(a));
  return out;
}

// GT-Vision-Lab/VQA PythonEvaluationTools/vqaEvaluation/vqaEval.py, VQAEval.evaluate (Python 2):
// both sides cleaned; normalised only when the cleaned answers are not all identical (otherwise
// the raw, case-sensitive strings are compared); mean in answer order.
AnswerScore score_official(std::u32string prediction, const std::vector<std::string>& answers) {
  std::vector<std::u32string> gts = decode_all(answers);
  for (std::u32string& g : gts) g = detail::py_clean_answer(g, kPy2);
  prediction = detail::py_clean_answer(prediction, kPy2);
  const bool differ =
      std::any_of(gts.begin(), gts.end(), [&](const auto& g) { return g != gts[0]; });
  if (differ) {
    for (std::u32string& g : gts) g = detail::normalize_answer(g, detail::kOfficialPunctuation);
    prediction = detail::normalize_answer(prediction, detail::kOfficialPunctuation);
  }
  const double score = detail::vqa_leave_one_out_accuracy(gts, prediction, VqaMean::kSequential);
  return {score, detail::py_encode(prediction)};
}

// haotian-liu/LLaVA llava/eval/m4c_evaluator.py, TextVQAAccuracyEvaluator (= mmf
// mmf/utils/m4c_evaluators.py): EvalAIAnswerProcessor on the prediction and every answer, always.
// The prediction scores the leave-one-out mean of its own processed answer if it is one of the
// unique processed answers, 0 otherwise -- the same number as scoring it directly. (The original
// asserts exactly 10 answers; here any number is accepted.)
AnswerScore score_m4c(const std::u32string& prediction, const std::vector<std::string>& answers) {
  std::vector<std::u32string> gts = decode_all(answers);
  for (std::u32string& g : gts) g = detail::evalai_process(g);
  const std::u32string pred = detail::evalai_process(prediction);
  return {detail::vqa_leave_one_out_accuracy(gts, pred, VqaMean::kSequential),
          detail::py_encode(pred)};
}

// Clean + normalise both sides unconditionally with the given rules and average with `mean`:
// lmms-eval lmms_eval/tasks/vqav2/utils.py vqav2_process_results (EvalAIAnswerProcessor's
// process_punctuation / process_digit_article without word_tokenize, statistics.mean), and
// VLMEvalKit vlmeval/dataset/utils/vqa_eval.py process_answer / process_line + hit_calculate
// (its own period regex, numpy.mean).
AnswerScore score_always_normalized(const std::u32string& prediction,
                                    const std::vector<std::string>& answers,
                                    const detail::PunctuationRules& rules,
                                    VqaMean mean) {
  std::vector<std::u32string> gts = decode_all(answers);
  for (std::u32string& g : gts) {
    g = detail::normalize_answer(detail::py_clean_answer(g, kPy3), rules);
  }
  const std::u32string pred =
      detail::normalize_answer(detail::py_clean_answer(prediction, kPy3), rules);
  return {detail::vqa_leave_one_out_accuracy(gts, pred, mean), detail::py_encode(pred)};
}

// Exact match of transform(prediction) with transform_answer(answer), best over the answers.
template <typename PredFn, typename AnswerFn>
AnswerScore score_exact(const std::u32string& prediction,
                        const std::vector<std::string>& answers,
                        PredFn transform,
                        AnswerFn transform_answer) {
  const std::u32string pred = transform(prediction);
  double score = 0.0;
  for (const std::string& a : answers) {
    if (transform_answer(detail::py_decode(a)) == pred) score = 1.0;
  }
  return {score, detail::py_encode(pred)};
}

// haotian-liu/LLaVA scripts/convert_gqa_for_eval.py: text.rstrip('.').lower(); GQA's eval.py
// then compares `predicted == gold` with the answer as stored (no normalisation at all).
std::u32string gqa_llava_prediction(const std::u32string& text) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == U'.') --end;
  return detail::py_lower(std::u32string_view(text).substr(0, end), kPy3);
}

// lmms-eval lmms_eval/api/metrics.py exact_match_hf_evaluate with ignore_case and
// ignore_punctuation (lmms_eval/tasks/gqa/gqa.yaml), applied to one-element numpy arrays:
// np.char.lower keeps the array's width, so a string that grows when lower-cased (U+0130) is cut
// back to its original length; then every string.punctuation character is deleted; numpy
// compares without trailing NULs.
std::u32string gqa_lmms_transform(const std::u32string& text) {
  constexpr std::u32string_view kAsciiPunctuation = U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  std::u32string_view element = text;  // what the array hands to str.lower: no trailing NULs
  while (!element.empty() && element.back() == U'\0') element.remove_suffix(1);
  std::u32string lowered = detail::py_lower(element, kPy3);
  if (lowered.size() > text.size()) lowered.resize(text.size());
  std::u32string out;
  out.reserve(lowered.size());
  for (char32_t c : lowered) {
    if (kAsciiPunctuation.find(c) == std::u32string_view::npos) out += c;
  }
  while (!out.empty() && out.back() == U'\0') out.pop_back();
  return out;
}

// open-compass/VLMEvalKit vlmeval/dataset/utils/vqa_eval.py process_line, method 'accuracy'
// (image_vqa.py uses it for GQA): x.strip().lower() on prediction and answer.
std::u32string gqa_vlmevalkit_transform(const std::u32string& text) {
  return detail::py_lower(detail::py_strip(text, kPy3), kPy3);
}

}  // namespace

MetricMode metric_mode_from_name(const std::string& name) {
  for (const ModeEntry& e : kModes) {
    if (name == e.name) return e.mode;
  }
  std::string valid, closest;
  size_t best = std::string::npos;
  for (const ModeEntry& e : kModes) {
    valid += valid.empty() ? e.name : std::string(", ") + e.name;
    const size_t d = edit_distance(name, e.name);
    if (d < best) best = d, closest = e.name;
  }
  const std::string hint = best <= 3 ? fmt::format(" Did you mean: {}?", closest) : "";
  throw Error(fmt::format("unknown metric mode '{}'.{} Valid modes: {}", name, hint, valid));
}

const char* metric_mode_name(MetricMode mode) {
  for (const ModeEntry& e : kModes) {
    if (e.mode == mode) return e.name;
  }
  throw Error(fmt::format("metric_mode_name: invalid MetricMode value {}", static_cast<int>(mode)));
}

std::vector<MetricMode> all_metric_modes() {
  std::vector<MetricMode> modes;
  for (const ModeEntry& e : kModes) modes.push_back(e.mode);
  return modes;
}

AnswerScore score_answer(MetricMode mode,
                         const std::string& prediction,
                         const std::vector<std::string>& answers) {
  if (answers.empty()) {
    throw Error(fmt::format("score_answer({}): no ground-truth answers for prediction '{}'",
                            metric_mode_name(mode), prediction.substr(0, 80)));
  }
  const std::u32string pred = detail::py_decode(prediction);
  switch (mode) {
    case MetricMode::kOfficial:
      return score_official(pred, answers);
    case MetricMode::kLlavaSubmit:
      // scripts/convert_vqav2_for_submission.py uploads EvalAIAnswerProcessor(text); the scorer
      // then processes it again (so a second 32-period pass happens when the answers differ).
      return score_official(detail::evalai_process(pred), answers);
    case MetricMode::kM4c:
      return score_m4c(pred, answers);
    case MetricMode::kAlwaysNormalize:
      return score_always_normalized(pred, answers, detail::kEvalAiPunctuation, VqaMean::kExact);
    case MetricMode::kVlmEvalKit:
      return score_always_normalized(pred, answers, detail::kVlmEvalKitPunctuation,
                                     VqaMean::kNumpy);
    case MetricMode::kGqaLlava:
      return score_exact(pred, answers, gqa_llava_prediction,
                         [](const std::u32string& a) { return a; });
    case MetricMode::kGqaLmmsEval:
      return score_exact(pred, answers, gqa_lmms_transform, gqa_lmms_transform);
    case MetricMode::kGqaVlmEvalKit:
      return score_exact(pred, answers, gqa_vlmevalkit_transform, gqa_vlmevalkit_transform);
  }
  throw Error(fmt::format("score_answer: invalid MetricMode value {}", static_cast<int>(mode)));
}

}  // namespace pb
