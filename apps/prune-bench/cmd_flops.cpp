// `prune-bench flops`: analytic FLOPs of one prompt under a named convention, optionally with a
// per-layer visual-token schedule, printed as JSON (docs/flops.md).
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "core/error.h"
#include "flops/flops.h"
#include "flops/visual_tokens.h"
#include "io/json_file.h"
#include "io/model_config.h"

namespace pb::app {

namespace {

struct FlopsArgs {
  std::string model, schedule, convention = "exact";
  int64_t text_tokens = 0;
  int64_t visual_tokens = -1;  // -1: the model's unpruned count
};

void run_flops(const FlopsArgs& args) {
  const LlavaConfig cfg = load_llava_config(args.model);
  const FlopsConvention convention = flops_convention_from_name(args.convention);
  const int64_t layers = cfg.text.num_hidden_layers, max_visual = max_visual_tokens(cfg);
  if (args.visual_tokens > max_visual) {
    throw Error(fmt::format("--visual-tokens {} is more than the {} visual tokens an image gives {}",
                            args.visual_tokens, max_visual, cfg.source));
  }
  const bool given = args.visual_tokens >= 0;
  nlohmann::json report;
  if (!args.schedule.empty()) {
    // With a schedule, --visual-tokens is the image's unpruned count: the cap and the reference.
    const std::vector<LayerTokens> schedule =
        parse_schedule(read_json_file(args.schedule), layers, given ? args.visual_tokens : max_visual, args.schedule);
    report = flops_report(cfg, args.text_tokens, schedule, convention, given ? args.visual_tokens : -1);
  } else {
    const int64_t visual = given ? args.visual_tokens : nominal_visual_tokens(cfg);
    report = flops_report(cfg, args.text_tokens, uniform_schedule(layers, visual), convention);
  }
  fmt::print("{}\n", report.dump(2));
}

}  // namespace

void setup_flops(CLI::App& app) {
  auto args = std::make_shared<FlopsArgs>();
  CLI::App* cmd = app.add_subcommand("flops", "Print the analytic FLOPs of one prompt as JSON");
  cmd->add_option("--model", args->model, "Model folder or config.json")->required();
  cmd->add_option("--text-tokens", args->text_tokens, "Prompt tokens that are not visual tokens")
      ->required()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--visual-tokens", args->visual_tokens,
                  "Visual tokens of the image (default: the model's count, 576 for LLaVA-1.5); every layer sees "
                  "them unless --schedule is given, which they then cap and serve as the unpruned reference")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--schedule", args->schedule,
                  "JSON array, one entry per decoder layer: visual tokens entering it, or "
                  "{\"in\": N, \"after_attn\": M}")
      ->check(CLI::ExistingFile);
  std::vector<std::string> names;
  for (FlopsConvention c : all_flops_conventions()) names.emplace_back(flops_convention_name(c));
  cmd->add_option("--convention", args->convention, "FLOPs convention (docs/flops.md)")
      ->check(CLI::IsMember(names))
      ->capture_default_str();
  cmd->callback([args] { run_flops(*args); });
}

}  // namespace pb::app
