// Everything a `prune-bench run` is told, and the resolved, hashed configuration that identifies
// its results (a resumed or sharded run must resolve to the same hash).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace pb {

struct RunOptions {
  // model
  std::string model;            // folder, or a config.json with random_weights
  bool random_weights = false;
  uint64_t weights_seed = 0;
  std::string tokenizer;        // default: tokenizer.model beside the model
  std::string dtype = "fp32";
  std::string device = "cpu";
  int threads = 0;              // 0 = every core
  // what to evaluate
  std::string dataset;          // dataset spec (datasets/dataset.h)
  std::string protocol = "llava15";
  std::string pruner = "none";
  std::string budget;           // pruner budget; empty = the method's default
  int64_t max_new_tokens = 0;   // 0 = the protocol's
  int64_t limit = 0;            // first N selected samples (0 = all)
  int64_t subset = 0;           // seeded stratified subset of N samples (0 = none)
  uint64_t subset_seed = 0;
  // how
  int shard_index = 0, shard_count = 1;
  std::string out;
  bool fail_fast = false;
  bool quiet = false;
  int log_every = 50;           // log lines when stderr is not a terminal
  std::string command_line;     // as typed, for the record
};

// Parses "i/N" (0 <= i < N), or "auto" for a Slurm array task (i = SLURM_ARRAY_TASK_ID -
// SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT). pb::Error otherwise.
void parse_shard(const std::string& text, int& index, int& count);

}  // namespace pb
