// `prune-bench score`: score an existing predictions file with any metric mode.
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "eval/score.h"
#include "io/atomic_file.h"

namespace pb::app {

namespace {

struct ScoreArgs {
  std::string dataset, predictions, metric, out;
};

void run_score(const ScoreArgs& args) {
  const Dataset dataset = load_dataset(args.dataset);
  const ScoredPredictions r = score_predictions(dataset, args.predictions, metric_mode_from_name(args.metric));
  if (!args.out.empty()) {
    std::string lines;
    for (const nlohmann::json& row : r.per_question) lines += row.dump() + "\n";
    write_file_atomic(args.out, lines);
  }
  fmt::print("{}: {:.2f} over {} scored predictions ({} without ground truth, {} unknown ignored, {} questions "
             "unanswered)\n",
             args.metric, r.accuracy, r.scored, r.unscored, r.unknown, r.missing);
}

}  // namespace

void setup_score(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  CLI::App* cmd = app.add_subcommand("score", "Score a predictions file against a dataset's ground truth");
  cmd->add_option("--dataset", args->dataset, "Dataset spec (as for run)")->required();
  cmd->add_option("--predictions", args->predictions, "LLaVA answers JSONL or [{question_id, answer}] JSON")->required();
  cmd->add_option("--metric", args->metric,
                  "official | llava_submit | m4c | always_normalize | vlmevalkit | gqa_llava | gqa_lmms_eval | gqa_vlmevalkit")
      ->required();
  cmd->add_option("--out", args->out, "Per-question scores as JSONL {question_id, score[, key]}");
  cmd->callback([args] { run_score(*args); });
}

}  // namespace pb::app
