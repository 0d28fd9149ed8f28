#include "eval/runner.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/error.h"
#include "core/hash.h"
#include "datasets/dataset.h"
#include "datasets/question_text.h"
#include "datasets/subset.h"
#include "eval/journal.h"
#include "eval/progress.h"
#include "eval/protocol.h"
#include "eval/run_context.h"
#include "eval/run_submission.h"
#include "eval/summary.h"
#include "io/atomic_file.h"
#include "io/file_lock.h"
#include "io/json_file.h"
#include "metrics/answer_metrics.h"
#include "pipeline/model_inputs.h"
#include "pipeline/model_loader.h"
#include "pipeline/pruned_prefill.h"
#include "pruners/pruner.h"

namespace fs = std::filesystem;

namespace pb {

namespace {

using Clock = std::chrono::steady_clock;

// Contiguous chunks of ceil(n / N), as LLaVA's get_chunk splits questions across processes.
std::pair<size_t, size_t> shard_range(size_t n, int index, int count) {
  const size_t chunk = (n + static_cast<size_t>(count) - 1) / static_cast<size_t>(count);
  const size_t begin = std::min(n, chunk * static_cast<size_t>(index));
  return {begin, std::min(n, begin + chunk)};
}

nlohmann::json sample_groups(const Sample& sample) {
  nlohmann::json groups = nlohmann::json::object();
  const nlohmann::json& meta = sample.meta;
  for (const char* field : {"answer_type", "question_type"}) {
    if (meta.contains(field) && meta[field].is_string()) groups[field] = meta[field];
  }
  if (meta.contains("types") && meta["types"].is_object()) {
    for (const char* field : {"structural", "semantic"}) {
      if (meta["types"].contains(field) && meta["types"][field].is_string()) groups[field] = meta["types"][field];
    }
  }
  return groups;
}

std::string strip(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\n\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\n\r");
  return s.substr(first, last - first + 1);
}

class SampleEvaluator {
 public:
  SampleEvaluator(const LlavaModel& model, const SentencePieceTokenizer& tokenizer, const Protocol& protocol,
                  DatasetKind kind, int64_t max_new_tokens, Pruner& pruner)
      : model_(model), tokenizer_(tokenizer), protocol_(protocol), kind_(kind), max_new_tokens_(max_new_tokens),
        cuda_(model->options().device.is_cuda()), pruner_(pruner) {}

  nlohmann::json evaluate(const Sample& sample) {
    nlohmann::json record = {{"key", sample.key}, {"question_id", sample.question_id}};
    nlohmann::json times = nlohmann::json::object();
    auto t = now();
    require_image_inside_folder(sample);
    const bool anyres = model_->config().model_type == "llava_next";  // LLaVA-NeXT: anyres tiles, not `pad`
    const AnyresPixels tiles = anyres ? load_anyres_pixels(sample.image_path, model_->config()) : AnyresPixels{};
    const at::Tensor pixels =
        anyres ? at::Tensor() : load_pixel_values(sample.image_path, protocol_.image_mode, model_->config());
    const std::vector<int64_t> ids =
        tokenize_with_image(tokenizer_, build_prompt(protocol_.prompt_template,
                                                     question_text(sample, kind_, protocol_.question_style)),
                            kOriginalImagePlaceholder);
    times["preprocess"] = lap(t);
    Session session;
    const PrunedPrefill pre =
        anyres ? run_anyres_prefill(*model_, pruner_, sample.key, tiles, ids, session, false, max_new_tokens_)
               : run_pruned_prefill(*model_, pruner_, sample.key, pixels, ids, session, false, max_new_tokens_);
    times["vision"] = pre.vision_ms;
    times["projector"] = pre.projector_ms;
    times["prefill"] = pre.prefill_ms;
    times["prune"] = pre.prune_ms;
    const at::Tensor& logits = pre.logits;
    const SplicedPrompt& prompt = pre.prompt;
    t = now();
    const int64_t eos = model_->config().text.eos_token_id;
    const GreedyResult out = greedy_decode(*model_, session, logits, max_new_tokens_, eos);
    times["decode"] = lap(t);
    const std::string raw = strip(tokenizer_.decode_generated(out.tokens, eos));
    const MetricMode metric = protocol_.metric_for(kind_);
    // Unscored samples still get the metric's normalised form (what a submission would contain).
    const AnswerScore scored = score_answer(metric, raw, sample.scored() ? sample.answers : std::vector<std::string>{raw});
    std::string id_bytes;
    for (int64_t id : ids) id_bytes += std::to_string(id) + ",";
    record["prompt_ids_hash"] = hex16(fnv1a64(id_bytes));
    record["answer_raw"] = raw;
    record["answer"] = scored.normalized_answer;
    record["score"] = sample.scored() ? nlohmann::json(scored.score) : nlohmann::json();
    record["groups"] = sample_groups(sample);
    record["text_tokens"] = static_cast<int64_t>(ids.size()) - 1;  // the image marker is not a text token
    record["image_tokens"] = pre.image_tokens;
    if (anyres) record["vision_crops"] = tiles.layout.tiles();  // this image's tiles, base included
    record["visual_tokens_llm_input"] = prompt.image_len;
    record["visual_tokens_per_layer"] = session.visual_tokens_per_layer;
    if (session.visual_tokens_after_attn != session.visual_tokens_per_layer) {
      record["visual_tokens_after_attn"] = session.visual_tokens_after_attn;  // in-layer drops (FitPrune)
    }
    record["new_tokens"] = static_cast<int64_t>(out.tokens.size());
    record["times_ms"] = times;
    record["peak_rss_mb"] = peak_rss_mb();
    record["status"] = "ok";
    return record;
  }

 private:
  Clock::time_point now() const {
    if (cuda_) torch::cuda::synchronize();  // time the GPU work, not its launch
    return Clock::now();
  }
  double lap(Clock::time_point& t) const {
    const auto end = now();
    const double ms = std::chrono::duration<double, std::milli>(end - t).count();
    t = end;
    return ms;
  }
  const LlavaModel& model_;
  const SentencePieceTokenizer& tokenizer_;
  const Protocol& protocol_;
  DatasetKind kind_;
  int64_t max_new_tokens_;
  bool cuda_;
  Pruner& pruner_;
};

}  // namespace

struct ModelCache::Entry {
  std::string key;
  LlavaModel model{nullptr};
};

ModelCache::ModelCache() = default;
ModelCache::~ModelCache() = default;

ModelCache::Entry& ModelCache::get(const RunOptions& o) {
  const std::string key = nlohmann::json{{"model", o.model}, {"random_weights", o.random_weights},
                                         {"seed", o.weights_seed}, {"dtype", o.dtype}, {"device", o.device},
                                         {"threads", o.threads}}.dump();
  if (!entry_ || entry_->key != key) {
    entry_.reset();  // free the previous model before loading the next
    auto fresh = std::make_unique<Entry>();
    fresh->key = key;
    fresh->model = load_model(ModelSource{o.model, o.random_weights, o.weights_seed, o.dtype, o.device, o.threads});
    entry_ = std::move(fresh);
    ++loads_;
  }
  return *entry_;
}

std::string journal_name(int shard_index, int shard_count) {
  return shard_count == 1 ? "journal.jsonl" : fmt::format("journal.shard-{}-of-{}.jsonl", shard_index, shard_count);
}

std::string summary_name(int shard_index, int shard_count) {
  return shard_count == 1 ? "summary.json" : fmt::format("summary.shard-{}-of-{}.json", shard_index, shard_count);
}

nlohmann::json run_evaluation(const RunOptions& options, ModelCache* models) {
  c10::InferenceMode guard;
  RunOptions o = options;
  o.dtype = resolve_dtype(o.dtype, o.device);  // run.json records (and resume compares) the dtype that ran
  const Protocol& protocol = protocol_by_name(o.protocol);
  const Budget budget = Budget::parse(o.budget);
  const std::unique_ptr<Pruner> pruner = make_pruner(o.pruner, budget);
  const Dataset dataset = load_dataset(o.dataset);
  std::vector<size_t> selected;
  if (o.subset > 0) {
    selected = stratified_subset(dataset, static_cast<size_t>(o.subset), o.subset_seed);
  } else {
    for (size_t i = 0; i < dataset.samples.size(); ++i) selected.push_back(i);
  }
  if (o.limit > 0 && selected.size() > static_cast<size_t>(o.limit)) selected.resize(static_cast<size_t>(o.limit));
  const auto [begin, end] = shard_range(selected.size(), o.shard_index, o.shard_count);

  const LlavaConfig cfg = load_llava_config(o.model);
  const std::string tokenizer_path = o.tokenizer.empty() ? default_tokenizer_path(o.model) : o.tokenizer;
  const int64_t max_new_tokens = o.max_new_tokens > 0 ? o.max_new_tokens : protocol.max_new_tokens;
  const MetricMode metric = protocol.metric_for(dataset.kind);
  // LLaVA-NeXT and LLaVA-HR: a refused method fails here, before any sample runs (docs/llava_next.md and
  // docs/llava_hr.md have the tables).
  const nlohmann::json resolved = resolve_for_model(*pruner, cfg);
  // Everything that changes answers or scores; nothing that only changes speed or placement.
  const nlohmann::json config = {
      {"model", {{"path", o.model}, {"config_hash", cfg.hash()}, {"random_weights", o.random_weights},
                 {"seed", o.random_weights ? nlohmann::json(o.weights_seed) : nlohmann::json()}}},
      {"tokenizer", {{"path", tokenizer_path}, {"hash", file_hash(tokenizer_path)}}},
      {"dataset", {{"spec", o.dataset}, {"kind", dataset_kind_name(dataset.kind)}, {"format", dataset.source_format},
                   {"samples_in_file", dataset.samples.size()}}},
      {"selection", {{"limit", o.limit}, {"subset", o.subset}, {"subset_seed", o.subset_seed},
                     {"selected", selected.size()}}},
      {"protocol", protocol.id()},
      {"max_new_tokens", max_new_tokens},
      {"metric", metric_mode_name(metric)},
      {"pruner", {{"spec", o.pruner}, {"name", pruner->info().name}, {"budget", budget.to_json()},
                  {"resolved", resolved}, {"positions", pruner->info().positions}, {"code", pruner->info().code}}},
      {"dtype", o.dtype},
      {"device", o.device},
  };
  const std::string config_hash = hex16(fnv1a64("run-config-v1" + config.dump()));
  const nlohmann::json run = {{"config", config},
                              {"config_hash", config_hash},
                              {"protocol", protocol.to_json()},
                              {"model_config", cfg.raw},
                              {"metric", metric_mode_name(metric)}};

  const fs::path out = o.out.empty() ? fs::path("results") / ("run-" + config_hash) : fs::path(o.out);
  fs::create_directories(out);
  const fs::path run_file = out / "run.json";
  if (fs::exists(run_file)) {
    const nlohmann::json existing = read_json_file(run_file.string());
    if (existing.value("config_hash", "") != config_hash) {
      throw Error(fmt::format("{}: this folder holds a run with a different configuration (hash {}, this one {}); "
                              "use another --out",
                              run_file.string(), existing.value("config_hash", "?"), config_hash));
    }
  } else {
    write_file_atomic(run_file.string(), run.dump(2) + "\n");
  }

  const std::string journal_path = (out / journal_name(o.shard_index, o.shard_count)).string();
  // Held until the summary is written: a second process on the same folder and shard stops here.
  const FileLock lock(journal_path, fmt::format("run folder {} ({})", out.string(),
                                                journal_name(o.shard_index, o.shard_count)));
  std::string backup;
  if (const std::vector<size_t> bad = repair_journal(journal_path, &backup); !bad.empty()) {
    fmt::print(stderr, "warning: {}: {} line(s) were not journal records (first: line {}); their samples run again "
               "(the original is kept as {})\n", journal_path, bad.size(), bad.front(), backup);
  }
  std::unordered_set<std::string> done;
  for (const nlohmann::json& r : read_journal(journal_path).records) {
    if (r.value("status", "") == "ok") done.insert(r.at("key").get<std::string>());
  }
  std::vector<const Sample*> pending;
  for (size_t i = begin; i < end; ++i) {
    const Sample& s = dataset.samples[selected[i]];
    if (done.count(s.key) == 0) pending.push_back(&s);
  }

  const nlohmann::json context = run_context(o.dtype, o.device, o.command_line);
  const int64_t total = static_cast<int64_t>(end - begin);
  if (!pending.empty()) {
    const SentencePieceTokenizer tokenizer = SentencePieceTokenizer::load(tokenizer_path);
    ModelCache own;  // a run on its own loads its model and frees it at the end
    const LlavaModel model = (models != nullptr ? *models : own).get(o).model;
    SampleEvaluator evaluator(model, tokenizer, protocol, dataset.kind, max_new_tokens, *pruner);
    JournalWriter journal(journal_path);
    Progress progress(total, total - static_cast<int64_t>(pending.size()), o.quiet, o.log_every);
    for (const Sample* sample : pending) {
      nlohmann::json record;
      try {
        record = evaluator.evaluate(*sample);
      } catch (const Error& e) {
        record = {{"key", sample->key}, {"question_id", sample->question_id}, {"status", "failed"}, {"error", e.what()}};
        journal.append(record);
        if (o.fail_fast) throw Error(fmt::format("sample {} failed (--fail-fast): {}", sample->key, e.what()));
        progress.update(false, 0, 0);
        continue;
      }
      journal.append(record);
      const auto& layers = record["visual_tokens_per_layer"];
      progress.update(!record["score"].is_null(), record["score"].is_null() ? 0.0 : record["score"].get<double>(),
                      layers.empty() ? 0.0 : layers[0].get<double>());
    }
    progress.finish();
  }
  SummaryInputs inputs{run, context, &cfg, total};
  const std::vector<nlohmann::json> records = read_journal(journal_path).records;
  nlohmann::json summary = summarize(records, inputs);
  summary["shard"] = {{"index", o.shard_index}, {"count", o.shard_count}};
  if (o.shard_count == 1) {  // a sharded run's submission is written by `merge`
    std::string note;
    summary["submission"] = write_run_submission(dataset, records, out.string(), &note);
    if (!note.empty()) summary["submission_note"] = note;
  }
  write_file_atomic((out / summary_name(o.shard_index, o.shard_count)).string(), summary.dump(2) + "\n");
  summary["output_folder"] = out.string();
  return summary;
}

}  // namespace pb
