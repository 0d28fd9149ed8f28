#include "eval/protocol.h"

#include <fmt/format.h>

#include "core/error.h"

namespace pb {

MetricMode Protocol::metric_for(DatasetKind kind) const {
  switch (kind) {
    case DatasetKind::kVqav2: return vqav2_metric;
    case DatasetKind::kTextvqa: return textvqa_metric;
    case DatasetKind::kGqa: return gqa_metric;
  }
  throw Error("unknown dataset kind");
}

nlohmann::json Protocol::to_json() const {
  return {{"id", id()},
          {"description", description},
          {"template", prompt_template_name(prompt_template)},
          {"image_mode", image_mode_name(image_mode)},
          {"question_style", question_style == QuestionStyle::kLlava15 ? "llava15" : "lmms-eval"},
          {"max_new_tokens", max_new_tokens},
          {"decoding", "greedy, batch size 1, stop at EOS"},
          {"metrics",
           {{"vqav2", metric_mode_name(vqav2_metric)},
            {"textvqa", metric_mode_name(textvqa_metric)},
            {"gqa", metric_mode_name(gqa_metric)}}}};
}

const std::vector<Protocol>& protocol_registry() {
  static const std::vector<Protocol> registry = {
      // haotian-liu/LLaVA scripts/v1_5/eval/{vqav2,textvqa,gqa}.sh + llava/eval/model_vqa_loader.py:
      // vicuna_v1, pad, greedy, max_new_tokens 128; VQAv2 answers go through EvalAIAnswerProcessor
      // (scripts/convert_vqav2_for_submission.py), TextVQA with the OCR line scored by m4c
      // (llava/eval/eval_textvqa.py), GQA rstrip('.') + lower() then exact (convert_gqa_for_eval.py).
      {"llava15", 1, "LLaVA-1.5 evaluation scripts (the numbers pruning papers report)", PromptTemplate::kVicunaV1,
       ImageMode::kPad, QuestionStyle::kLlava15, 128, MetricMode::kLlavaSubmit, MetricMode::kM4c,
       MetricMode::kGqaLlava},
      // EvolvingLMMs-Lab/lmms-eval tasks vqav2_val / textvqa_val / gqa with its llava wrapper: OCR off,
      // max_new_tokens 16 (lmms_eval/tasks/*/_default_template_*_yaml), always-normalised VQA accuracy.
      {"lmms-eval", 1, "lmms-eval task defaults (OCR off, 16 new tokens)", PromptTemplate::kVicunaV1, ImageMode::kPad,
       QuestionStyle::kLmmsEval, 16, MetricMode::kAlwaysNormalize, MetricMode::kAlwaysNormalize,
       MetricMode::kGqaLmmsEval},
  };
  return registry;
}

const Protocol& protocol_by_name(const std::string& name) {
  std::vector<std::string> names;
  for (const Protocol& p : protocol_registry()) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  throw Error(fmt::format("unknown protocol '{}' (valid: {})", name, fmt::join(names, ", ")));
}

}  // namespace pb
