// `prune-bench compare BASE CAND`: paired significance test of a candidate run against a base run;
// exit 3 when it is a regression; see report/compare.h, docs/sweeps.md.
#include <fmt/core.h>

#include <filesystem>
#include <memory>

#include "command.h"
#include "io/atomic_file.h"
#include "report/compare.h"

namespace pb::app {

void setup_compare(CLI::App& app) {
  auto base = std::make_shared<std::string>();
  auto cand = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Paired test of a candidate run against a base run (exit 3 on a regression)");
  cmd->add_option("base", *base, "Base run folder")->required();
  cmd->add_option("candidate", *cand, "Candidate run folder")->required();
  cmd->add_option("--alpha", o->alpha, "Significance level of the one-sided test")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--max-drop", o->max_drop, "Accuracy points the candidate may lose before it counts as a regression")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--top", o->top, "Flipped questions listed per direction")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--out", *out, "Folder for compare.md and compare.json");
  cmd->callback([base, cand, out, o] {
    const nlohmann::json result = compare_runs(*base, *cand, *o);
    const std::string md = compare_markdown(result);
    if (!out->empty()) {
      std::filesystem::create_directories(*out);
      write_file_atomic((std::filesystem::path(*out) / "compare.md").string(), md);
      write_file_atomic((std::filesystem::path(*out) / "compare.json").string(), result.dump(2) + "\n");
    }
    fmt::print("{}", md);
    if (result["regression"].get<bool>()) exit_status() = 3;
  });
}

}  // namespace pb::app
