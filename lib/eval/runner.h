// `prune-bench run`: one model x dataset x protocol x pruner x budget, resumable and shardable.
// Layout of the output folder:
//   run.json                 the resolved configuration and its hash (identical for every shard)
//   journal[.shard-i-of-N].jsonl   one line per finished sample, fsync'ed
//   summary[.shard-i-of-N].json    written atomically at the end of the run
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "eval/run_options.h"

namespace pb {

// Runs (or resumes) the evaluation; returns the summary it wrote.
nlohmann::json run_evaluation(const RunOptions& options);

// File names inside a run folder for shard i of N (N = 1: unsharded names).
std::string journal_name(int shard_index, int shard_count);
std::string summary_name(int shard_index, int shard_count);

}  // namespace pb
