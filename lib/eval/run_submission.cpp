#include "eval/run_submission.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "datasets/submission.h"
#include "datasets/text_case.h"
#include "eval/summary.h"
#include "metrics/answer_metrics.h"

namespace fs = std::filesystem;

namespace pb {

std::string write_run_submission(const Dataset& dataset, const std::vector<nlohmann::json>& records,
                                 const std::string& folder, std::string* note) {
  std::map<std::string, std::string> answers;
  bool missing_textvqa_id = false;
  for (const nlohmann::json& r : latest_records(records)) {
    if (r.at("status") != "ok") continue;
    const Sample* sample = dataset.find(r.at("key").get<std::string>());
    if (sample == nullptr) continue;
    const std::string raw = r.at("answer_raw").get<std::string>();
    switch (dataset.kind) {
      case DatasetKind::kVqav2:
        answers[sample->question_id] = evalai_process(raw);
        break;
      case DatasetKind::kGqa: {
        std::string p = raw;
        while (!p.empty() && p.back() == '.') p.pop_back();
        answers[sample->question_id] = python_lower(p);
        break;
      }
      case DatasetKind::kTextvqa:
        if (sample->meta.contains("textvqa_question_id")) {
          answers[sample->meta["textvqa_question_id"].dump()] = raw;
        } else {
          missing_textvqa_id = true;
        }
        break;
    }
  }
  switch (dataset.kind) {
    case DatasetKind::kVqav2: {
      const auto questions = dataset.spec_values.find("questions");
      if (questions == dataset.spec_values.end()) {
        throw Error(fmt::format("dataset '{}': no questions file recorded, cannot write the VQAv2 submission",
                                dataset.spec));
      }
      write_vqav2_submission((fs::path(folder) / "vqav2_submission.json").string(), questions->second, answers);
      return "vqav2_submission.json";
    }
    case DatasetKind::kGqa:
      write_gqa_submission((fs::path(folder) / "testdev_balanced_predictions.json").string(), answers);
      return "testdev_balanced_predictions.json";
    case DatasetKind::kTextvqa:
      if (missing_textvqa_id) {
        if (note) *note = "no TextVQA question ids (join the TextVQA json with annotations=) : no submission file";
        return "";
      }
      write_textvqa_submission((fs::path(folder) / "textvqa_submission.json").string(), answers);
      return "textvqa_submission.json";
  }
  return "";
}

}  // namespace pb
