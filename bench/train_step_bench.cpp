// Where a SynthVQA training step spends its time: sample generation, forward, backward, optimiser,
// in fp32 and under bf16 autocast. Prints a table; best of --reps.
//
//   train_step_bench --config configs/models/synthvqa-tiny.json --tokenizer models/synthvqa-tiny/tokenizer.model
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <functional>

#include "pipeline/model_loader.h"
#include "train/batched_forward.h"
#include "train/synth_batches.h"

namespace {
double ms(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  std::string config, tokenizer;
  int64_t batch = 8;
  int reps = 3, threads = 0;
  int64_t turns = 4;
  std::string precision = "both";
  CLI::App app{"SynthVQA training-step benchmark"};
  app.add_option("--config", config)->required();
  app.add_option("--tokenizer", tokenizer)->required();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--reps", reps)->capture_default_str();
  app.add_option("--threads", threads);
  app.add_option("--turns", turns)->capture_default_str();
  app.add_option("--precision", precision, "fp32, bf16 or both")
      ->check(CLI::IsMember({"fp32", "bf16", "both"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  pb::set_threads(threads);
  const pb::LlavaConfig cfg = pb::load_llava_config(config);
  const auto tok = pb::SentencePieceTokenizer::load(tokenizer);
  auto model = pb::LlavaModelImpl::random(cfg, pb::ModelOptions{}, 0);
  for (at::Tensor& p : model->parameters()) p.set_requires_grad(true);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-4));
  std::vector<pb::SynthExample> examples;
  const double gen = ms([&] {
    for (int64_t i = 0; i < batch; ++i) examples.push_back(pb::make_synth_example(tok, cfg, "train", 0, i, turns));
  });
  const pb::TrainingBatch b = pb::collate(examples, cfg.vision.image_size, model->image_tokens());
  int64_t targets = 0;
  for (const pb::SynthExample& e : examples) for (bool t : e.is_target) targets += t ? 1 : 0;
  fmt::print("batch {} x {} turns: spliced sequence {} tokens, {:.1f} target tokens per image\n", batch, turns,
             b.targets.size(1), static_cast<double>(targets) / static_cast<double>(batch));
  fmt::print("| precision | generate ms | forward ms | backward ms | optimiser ms | ms/image | ms/question |\n|---|---|---|---|---|---|---|\n");
  for (bool bf16 : {false, true}) {
    if (precision != "both" && (precision == "bf16") != bf16) continue;
    double f = 1e30, bw = 1e30, o = 1e30;
    for (int r = 0; r < reps; ++r) {
      pb::BatchLoss loss;
      opt.zero_grad();
      f = std::min(f, ms([&] {
        at::autocast::set_cpu_enabled(bf16);
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        loss = pb::batch_loss(*model, b);
        at::autocast::set_cpu_enabled(false);
        at::autocast::clear_cache();
      }));
      bw = std::min(bw, ms([&] { loss.loss.backward(); }));
      o = std::min(o, ms([&] { opt.step(); }));
    }
    int64_t questions = 0;
    for (const pb::SynthExample& e : examples) questions += std::count(e.ids.begin(), e.ids.end(), 2);
    fmt::print("| {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {:.0f} |\n", bf16 ? "bf16 autocast" : "fp32", gen, f, bw,
               o, (gen + f + bw + o) / static_cast<double>(batch), (gen + f + bw + o) / static_cast<double>(questions));
  }
  return 0;
}
