// `prune-bench calibrate`: fit a FitPrune recipe to a FLOPs budget on dataset samples; see eval/calibrate.h.
#include <fmt/core.h>

#include <memory>
#include <numeric>

#include "command.h"
#include "core/embedded_defaults.h"
#include "common_options.h"
#include "eval/calibrate.h"
#include "flops/flops.h"
#include "io/model_config.h"

namespace pb::app {

namespace {

void print_recipe(const CalibrateOptions& o, const FitpruneRecipe& r) {
  const int64_t deleted = std::accumulate(r.delete_per_layer.begin(), r.delete_per_layer.end(), int64_t{0});
  const std::vector<LayerTokens> schedule = fitprune_schedule(r.delete_per_layer, r.n_visual);
  const LlavaConfig cfg = load_llava_config(o.model.model);
  const auto layers = static_cast<int64_t>(schedule.size());
  const double full = llm_prefill_flops(cfg, 0, uniform_schedule(layers, r.n_visual), FlopsConvention::kFitPrune);
  fmt::print("recipe: {}\n", o.out);
  fmt::print("alpha: {} ({} fit, {} samples, {:.1f} s)\n", r.alpha.value_or(0), r.fit_select,
             r.calibration["sample_keys"].size(), r.time_seconds.value_or(0));
  fmt::print("deletes {} of {} visual tokens ({} left after the last layer)\n", deleted, r.n_visual,
             schedule.back().after_attn);
  fmt::print("FLOPs removed by the recipe (fitprune convention): {:.2f}%\n",
             100.0 * (1.0 - llm_prefill_flops(cfg, 0, schedule, FlopsConvention::kFitPrune) / full));
}

}  // namespace

void setup_calibrate(CLI::App& app) {
  auto o = std::make_shared<CalibrateOptions>();
  auto seed = std::make_shared<uint64_t>(0);
  CLI::App* cmd = app.add_subcommand("calibrate", "Fit a pruning recipe on dataset samples (FitPrune)");
  cmd->add_option("--pruner", o->pruner, "Method to calibrate")->capture_default_str();
  add_model_options(*cmd, o->model);
  cmd->add_option("--tokenizer", o->tokenizer, "SentencePiece model (default: tokenizer.model beside the model)");
  o->dataset = kEmbeddedDataset;
  cmd->add_option("--dataset", o->dataset, "Dataset spec, as for `run` (default: SynthVQA val)");
  cmd->add_option("--protocol", o->protocol, "Prompt template, image mode and question text of the samples")
      ->check(CLI::IsMember({"llava15", "lmms-eval"}))
      ->capture_default_str();
  cmd->add_option("--samples", o->samples, "Calibration samples: the first N")->required()->check(CLI::PositiveNumber);
  auto* subset = cmd->add_option("--subset-seed", *seed, "Take a seeded stratified subset of N instead of the first N");
  cmd->add_option("--budget", o->budget, "flops:F[@convention]: fraction of LLM-prefill FLOPs to remove")->required();
  cmd->add_option("--convention", o->convention, "FLOPs convention of the budget (default: the budget's, fitprune)")
      ->check(CLI::IsMember({"fitprune", "fastv", "exact"}));
  cmd->add_option("--fit-select", o->fit_select,
                  "official: the last alpha evaluated (the script's output); smallest-reaching: the smallest alpha "
                  "that met the budget")
      ->check(CLI::IsMember({"official", "smallest-reaching"}))
      ->capture_default_str();
  cmd->add_option("--never-break", o->never_break,
                  "Deletion count when the script's loop never breaks: reuse (official: the previous count) or "
                  "largest (the largest count that keeps the attention mass)")
      ->check(CLI::IsMember({"reuse", "largest"}))
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Recipe JSON to write")->required();
  cmd->add_flag("--quiet", o->quiet, "No progress lines");
  cmd->callback([o, seed, subset] {
    if (subset->count() > 0) o->subset_seed = *seed;
    o->command_line = invocation();
    print_recipe(*o, run_calibration(*o));
  });
}

}  // namespace pb::app
