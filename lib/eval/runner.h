// `prune-bench run`: one model x dataset x protocol x pruner x budget, resumable and shardable.
// Layout of the output folder:
//   run.json                 the resolved configuration and its hash (identical for every shard)
//   journal[.shard-i-of-N].jsonl   one line per finished sample, fsync'ed
//   summary[.shard-i-of-N].json    written atomically at the end of the run
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "eval/run_options.h"

namespace pb {

// Keeps the most recently loaded model, so consecutive runs on the same model (a sweep's points,
// ordered by model) load it once. Keyed by everything that changes the weights or where they live:
// path, random weights + seed, dtype, device, threads.
class ModelCache {
 public:
  ModelCache();
  ~ModelCache();
  ModelCache(const ModelCache&) = delete;
  ModelCache& operator=(const ModelCache&) = delete;
  int loads() const { return loads_; }  // how many times a model was actually loaded

  struct Entry;  // defined in runner.cpp (holds the LibTorch module)
  Entry& get(const RunOptions& options);

 private:
  std::unique_ptr<Entry> entry_;
  int loads_ = 0;
};

// Runs (or resumes) the evaluation; returns the summary it wrote. With `models`, the model is taken
// from (and left in) the cache instead of being loaded for this run alone.
nlohmann::json run_evaluation(const RunOptions& options, ModelCache* models = nullptr);

// File names inside a run folder for shard i of N (N = 1: unsharded names).
std::string journal_name(int shard_index, int shard_count);
std::string summary_name(int shard_index, int shard_count);

}  // namespace pb
