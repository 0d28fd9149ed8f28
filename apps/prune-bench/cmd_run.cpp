// `prune-bench run`: evaluate one model x dataset x pruner x budget, resumably; see eval/runner.h.
#include <fmt/core.h>

#include <memory>

#include "command.h"
#include "core/embedded_defaults.h"
#include "core/error.h"
#include "eval/runner.h"

namespace pb::app {

namespace {

void print_result(const nlohmann::json& s) {
  const auto& counts = s["counts"];
  const auto& overall = s["metrics"]["overall"];
  const auto& eff = s["efficiency"];
  fmt::print("run: {}\n", s.value("output_folder", ""));
  fmt::print("samples: {} total, {} ok, {} scored, {} unscored, {} failed, {} pending\n", counts["total"].get<int64_t>(),
             counts["ok"].get<int64_t>(), counts["scored"].get<int64_t>(), counts["unscored"].get<int64_t>(),
             counts["failed"].get<int64_t>(), counts["pending"].get<int64_t>());
  if (!overall["accuracy"].is_null()) {
    fmt::print("{}: {:.2f} (95% CI {:.2f} - {:.2f})\n", s["metrics"]["metric"].get<std::string>(),
               overall["accuracy"].get<double>(), overall["ci95"][0].get<double>(), overall["ci95"][1].get<double>());
  }
  if (!eff["mean_visual_tokens"].is_null()) {
    fmt::print("mean visual tokens: {:.1f}, prefill p50 {:.1f} ms\n", eff["mean_visual_tokens"].get<double>(),
               eff["latency_ms"]["prefill"]["p50"].get<double>());
  }
}

}  // namespace

void setup_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto shard = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("run", "Evaluate a model on a dataset (resumable; journal + summary JSON)");
  o->model = embedded_model_dir();
  o->dataset = kEmbeddedDataset;
  cmd->add_option("--model", o->model, "Model folder, or a config.json with --random-weights (default: the embedded SynthVQA model)");
  cmd->add_flag("--random-weights", o->random_weights, "Seeded random weights from config.json alone");
  cmd->add_option("--seed", o->weights_seed, "Seed for --random-weights")->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer, "SentencePiece model (default: tokenizer.model beside the model)");
  cmd->add_option("--dtype", o->dtype, "Compute dtype; auto: bf16 on CUDA or a CPU with native bf16 (AMX, AVX512-BF16), else fp32")->check(CLI::IsMember({"fp32", "bf16", "auto"}))->capture_default_str();
  cmd->add_option("--device", o->device, "Device")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--threads", o->threads, "Intra-op threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--dataset", o->dataset,
                  "vqav2:questions=F,annotations=F,images=D | textvqa:json=F,ocr=F,images=D | gqa:questions=F,images=D | "
                  "llava-jsonl:questions=F,images=D,kind=K[,annotations=F] | synthvqa:split=S[,n=N] "
                  "(default: SynthVQA val, generated on first use)");
  cmd->add_option("--protocol", o->protocol, "Evaluation protocol")->check(CLI::IsMember({"llava15", "lmms-eval"}))
      ->capture_default_str();
  cmd->add_option("--pruner", o->pruner, "Pruning method")->capture_default_str();
  cmd->add_option("--budget", o->budget, "Pruning budget");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Override the protocol's decoding limit")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--limit", o->limit, "Only the first N selected samples")->check(CLI::PositiveNumber);
  cmd->add_option("--subset", o->subset, "Seeded stratified subset of N samples")->check(CLI::PositiveNumber);
  cmd->add_option("--subset-seed", o->subset_seed, "Seed for --subset")->capture_default_str();
  cmd->add_option("--shard", *shard, "i/N: this process runs the i-th of N contiguous chunks (or 'auto' under Slurm)");
  cmd->add_option("--out", o->out, "Output folder (default: results/run-<config hash>)");
  cmd->add_flag("--fail-fast", o->fail_fast, "Stop at the first failed sample");
  cmd->add_flag("--quiet", o->quiet, "No progress output");
  cmd->add_option("--log-every", o->log_every, "Log a progress line every N samples when stderr is not a terminal")
      ->check(CLI::PositiveNumber);
  cmd->callback([o, shard] {
    if (!shard->empty()) parse_shard(*shard, o->shard_index, o->shard_count);
    o->command_line = invocation();
    print_result(run_evaluation(*o));
  });
}

}  // namespace pb::app
