#include "eval/merge.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/error.h"
#include "eval/journal.h"
#include "eval/run_context.h"
#include "eval/run_submission.h"
#include "eval/summary.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/model_config.h"

namespace fs = std::filesystem;

namespace pb {

nlohmann::json merge_runs(const std::vector<std::string>& folders, const std::string& out) {
  if (folders.empty()) throw Error("merge: no run folders given");
  nlohmann::json run;
  std::vector<nlohmann::json> records;
  for (const std::string& folder : folders) {
    const fs::path run_file = fs::path(folder) / "run.json";
    if (!fs::exists(run_file)) throw Error(fmt::format("{}: not a run folder (no run.json)", folder));
    const nlohmann::json this_run = read_json_file(run_file.string());
    if (run.is_null()) {
      run = this_run;
    } else if (this_run.value("config_hash", "") != run.value("config_hash", "")) {
      throw Error(fmt::format("{}: configuration {} differs from {} ({}); refusing to merge different runs",
                              run_file.string(), this_run.value("config_hash", "?"), run.value("config_hash", "?"),
                              folders.front()));
    }
    for (nlohmann::json& r : read_run_journals(folder)) records.push_back(std::move(r));
  }
  const LlavaConfig model = parse_llava_config(run.at("model_config"), "run.json model_config");
  SummaryInputs inputs;
  inputs.run = run;
  inputs.context = run_context(run["config"].value("dtype", ""), run["config"].value("device", ""), "merge");
  inputs.context["merged_from"] = folders;
  inputs.model = &model;
  inputs.total_samples = run["config"]["selection"].at("selected").get<int64_t>();
  nlohmann::json summary = summarize(records, inputs);
  const fs::path dest = fs::path(out.empty() ? folders.front() : out);
  fs::create_directories(dest);
  std::string note;
  const Dataset dataset = load_dataset(run["config"]["dataset"].at("spec").get<std::string>());
  summary["submission"] = write_run_submission(dataset, records, dest.string(), &note);
  if (!note.empty()) summary["submission_note"] = note;
  write_file_atomic((dest / "summary.json").string(), summary.dump(2) + "\n");
  summary["output_folder"] = dest.string();
  return summary;
}

}  // namespace pb
