// Evaluation protocols: named, versioned bundles of every choice that changes a score (prompt
// template, image mode, question text, decoding limit, metric per dataset kind). Every result records
// the protocol id, so numbers made under different protocols are never silently compared.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/question_text.h"
#include "image/clip_preprocess.h"
#include "metrics/answer_metrics.h"
#include "tokenizer/prompt.h"

namespace pb {

struct Protocol {
  std::string name;      // registry key: "llava15", "lmms-eval"
  int version = 1;       // bumped whenever anything below changes
  std::string description;
  PromptTemplate prompt_template;
  ImageMode image_mode;
  QuestionStyle question_style;
  int64_t max_new_tokens;
  MetricMode vqav2_metric, textvqa_metric, gqa_metric;

  std::string id() const { return name + "@" + std::to_string(version); }  // e.g. "llava15@1"
  MetricMode metric_for(DatasetKind kind) const;
  nlohmann::json to_json() const;
};

const std::vector<Protocol>& protocol_registry();              // the explicit list
const Protocol& protocol_by_name(const std::string& name);     // pb::Error listing the valid names

}  // namespace pb
