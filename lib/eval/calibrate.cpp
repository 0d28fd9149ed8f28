#include "eval/calibrate.h"

#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "core/build_info.h"
#include "core/error.h"
#include "core/hash.h"
#include "datasets/dataset.h"
#include "datasets/question_text.h"
#include "datasets/subset.h"
#include "eval/protocol.h"
#include "pipeline/model_inputs.h"
#include "pruners/budget.h"
#include "pruners/fitprune_calibrate.h"

namespace pb {

namespace {

FitpruneCalibrationOptions fit_options(const CalibrateOptions& o) {
  const Budget budget = Budget::parse(o.budget);
  if (budget.kind != Budget::Kind::kFlops) {
    throw Error(fmt::format(
        "calibrate: --budget '{}': a FitPrune recipe is fitted to a FLOPs budget, flops:F[@convention]", o.budget));
  }
  std::string convention = budget.convention;
  if (!o.convention.empty()) {
    if (o.budget.find('@') != std::string::npos && o.convention != budget.convention) {
      throw Error(fmt::format("calibrate: --budget '{}' and --convention {} name different conventions", o.budget,
                              o.convention));
    }
    convention = o.convention;
  }
  FitpruneCalibrationOptions f;
  f.fraction_removed = budget.ratio;
  f.convention = flops_convention_from_name(convention);
  f.fit_select = fit_select_from_name(o.fit_select);
  f.never_break = never_break_from_name(o.never_break);
  return f;
}

std::vector<size_t> select_samples(const Dataset& dataset, const CalibrateOptions& o) {
  if (o.samples < 1) throw Error("calibrate: --samples must be >= 1");
  if (static_cast<size_t>(o.samples) > dataset.samples.size()) {
    throw Error(fmt::format("calibrate: --samples {} but {} holds {} samples", o.samples, o.dataset,
                            dataset.samples.size()));
  }
  if (o.subset_seed) return stratified_subset(dataset, static_cast<size_t>(o.samples), *o.subset_seed);
  std::vector<size_t> first(static_cast<size_t>(o.samples));
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  return first;
}

nlohmann::json search_json(const FitpruneCalibration& fit) {
  nlohmann::json out = nlohmann::json::array();
  for (const AlphaTrial& t : fit.trials) {
    out.push_back({{"alpha", t.alpha},
                   {"reached", t.reached},
                   {"stop_layer", t.reached ? nlohmann::json(t.stop_layer) : nlohmann::json()},
                   {"mean_flops_removed", t.mean_flops_removed},
                   {"delete_per_layer", t.scheme},
                   {"passes", t.passes}});
  }
  return out;
}

}  // namespace

FitpruneRecipe run_calibration(const CalibrateOptions& o) {
  c10::InferenceMode guard;
  const auto start = std::chrono::steady_clock::now();
  if (o.pruner != "fitprune") {
    throw Error(fmt::format("calibrate: --pruner '{}': only fitprune has a calibration step", o.pruner));
  }
  if (o.out.empty()) throw Error("calibrate: --out FILE is required");
  const FitpruneCalibrationOptions options = fit_options(o);
  const Protocol& protocol = protocol_by_name(o.protocol);
  const Dataset dataset = load_dataset(o.dataset);
  const std::vector<size_t> selected = select_samples(dataset, o);
  const std::string tokenizer_path = o.tokenizer.empty() ? default_tokenizer_path(o.model.model) : o.tokenizer;
  const SentencePieceTokenizer tokenizer = SentencePieceTokenizer::load(tokenizer_path);
  const LlavaModel model = load_model(o.model);
  const LlavaConfig& cfg = model->config();

  // The image goes through the tower and projector once; every fit reuses the spliced prompt.
  std::vector<CalibrationPrompt> prompts;
  nlohmann::json keys = nlohmann::json::array();
  for (const size_t i : selected) {
    const Sample& sample = dataset.samples[i];
    try {
      require_image_inside_folder(sample);
      const at::Tensor pixels = load_pixel_values(sample.image_path, protocol.image_mode, cfg);
      const std::vector<int64_t> ids = prompt_ids(tokenizer, protocol.prompt_template,
                                                  question_text(sample, dataset.kind, protocol.question_style));
      prompts.push_back({sample.key, model->splice(ids, model->encode_image(pixels).image_embeds)});
    } catch (const Error& e) {
      throw Error(fmt::format("calibrate: sample {}: {}", sample.key, e.what()));
    }
    keys.push_back(sample.key);
  }
  const auto log = [&o](const std::string& line) {
    if (!o.quiet) fmt::print(stderr, "calibrate: {}\n", line);
  };
  const FitpruneCalibration fit = calibrate_fitprune(*model, prompts, options, log);

  FitpruneRecipe r;
  r.delete_per_layer = fit.scheme;
  r.n_visual = model->image_tokens();
  r.alpha = fit.alpha;
  r.fraction_removed = options.fraction_removed;
  r.convention = flops_convention_name(options.convention);
  r.fit_select = fit_select_name(options.fit_select);
  r.never_break = never_break_name(options.never_break);
  r.model_config_hash = cfg.hash();
  r.calibration = {
      {"dataset", {{"spec", o.dataset}, {"kind", dataset_kind_name(dataset.kind)}, {"format", dataset.source_format}}},
      {"selection",
       {{"samples", o.samples}, {"subset_seed", o.subset_seed ? nlohmann::json(*o.subset_seed) : nlohmann::json()}}},
      {"sample_keys", keys},
      {"protocol", protocol.id()},
      {"model", {{"path", o.model.model}, {"random_weights", o.model.random_weights},
                 {"seed", o.model.random_weights ? nlohmann::json(o.model.seed) : nlohmann::json()}}},
      {"tokenizer", {{"path", tokenizer_path}, {"hash", file_hash(tokenizer_path)}}},
      {"dtype", o.model.dtype},
      {"device", o.model.device},
      {"command_line", o.command_line},
  };
  r.prune_bench_version =
      fmt::format("{} ({}{})", build_version(), build_git_sha(), build_git_dirty() ? ", uncommitted changes" : "");
  r.time_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.source = "prune-bench calibrate, following ywh187/FitPrune LLaVA_1.5/llava/eval/statistical_analysis.py";
  r.search = search_json(fit);
  write_fitprune_recipe(o.out, r);
  return r;
}

}  // namespace pb
