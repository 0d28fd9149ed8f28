// The submission file of a finished run, in the format the dataset's official scorer takes.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace pb {

// Writes into `folder`, from the latest ok record per key:
//   VQAv2   vqav2_submission.json: every question of the spec's questions file, EvalAI-processed
//           answers, "" when unanswered (scripts/convert_vqav2_for_submission.py);
//   GQA     testdev_balanced_predictions.json: rstrip('.').lower() (scripts/convert_gqa_for_eval.py);
//   TextVQA textvqa_submission.json: the stripped answers by TextVQA question id (skipped, with a
//           note in the return value, when the questions carry no TextVQA question id).
// Returns the file name written, or an empty string with the reason in `note`.
std::string write_run_submission(const Dataset& dataset, const std::vector<nlohmann::json>& records,
                                 const std::string& folder, std::string* note);

}  // namespace pb
