// `prune-bench score`: scores an existing predictions file against a dataset's ground truth, so
// numbers from other harnesses (or LLaVA's own answer files) can be checked with the same metrics.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "metrics/answer_metrics.h"

namespace pb {

struct ScoredPredictions {
  std::vector<nlohmann::json> per_question;  // {question_id, score[, key]} in predictions-file order
  double accuracy = 0;                       // mean score x 100 over scored predictions
  size_t scored = 0;
  size_t unscored = 0;   // matched a question without ground truth
  size_t unknown = 0;    // matched no question (ignored)
  size_t missing = 0;    // scored questions without a prediction
};

// Predictions: LLaVA answers JSONL ({question_id, prompt, text, ...}) or a JSON list of
// {question_id, answer}. Where question ids repeat in the dataset (LLaVA's TextVQA file) the
// prediction's `prompt` picks the question.
ScoredPredictions score_predictions(const Dataset& dataset, const std::string& predictions_path, MetricMode mode);

}  // namespace pb
