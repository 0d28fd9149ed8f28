// Hand-built finished run folders (run.json, summary.json, journal.jsonl) with chosen per-sample
// scores and efficiency numbers, for `report` and `compare` tests that need no model.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace pb::test {

struct FakeRun {
  std::string model = "tiny", dataset = "gqa", pruner = "none", spec = "none";
  nlohmann::json budget = {{"kind", "default"}};
  std::string metric = "gqa_llava";
  std::vector<double> scores;           // sample i has key "q<i>" (zero-padded to keep key order)
  double visual_tokens = 576, flops_exact = 8e12, flops_fastv = 3e12, prefill_ms = 100;
  nlohmann::json labels;                // written as point.json when not null
};

inline std::string fake_key(size_t i) {
  const std::string digits = std::to_string(i);
  return "q" + std::string(digits.size() < 3 ? 3 - digits.size() : 0, '0') + digits;
}

inline void write_fake_run(const std::filesystem::path& dir, const FakeRun& r) {
  std::filesystem::create_directories(dir);
  double sum = 0;
  std::ofstream journal(dir / "journal.jsonl");
  for (size_t i = 0; i < r.scores.size(); ++i) {
    sum += r.scores[i];
    journal << nlohmann::json{{"key", fake_key(i)}, {"question_id", fake_key(i)}, {"status", "ok"},
                              {"score", r.scores[i]}, {"answer_raw", r.scores[i] > 0 ? "right" : "wrong"}}
                   .dump()
            << "\n";
  }
  const nlohmann::json config = {
      {"model", {{"path", "configs/models/" + r.model + ".json"}}},
      {"dataset", {{"kind", r.dataset}, {"spec", r.dataset + ":questions=x"}}},
      {"pruner", {{"name", r.pruner}, {"spec", r.spec}, {"budget", r.budget}}}};
  const std::string hash = "hash-" + r.spec + r.budget.dump() + r.dataset;
  std::ofstream(dir / "run.json") << nlohmann::json{{"config", config}, {"config_hash", hash}}.dump();
  const int64_t n = static_cast<int64_t>(r.scores.size());
  const nlohmann::json summary = {
      {"schema_version", 1},
      {"config", config},
      {"config_hash", hash},
      {"counts", {{"total", n}, {"done", n}, {"ok", n}, {"scored", n}, {"unscored", 0}, {"failed", 0}, {"pending", 0}}},
      {"metrics", {{"metric", r.metric}, {"overall", {{"accuracy", n ? 100.0 * sum / n : 0.0}}}}},
      {"efficiency",
       {{"mean_visual_tokens", r.visual_tokens},
        {"flops", {{"exact", {{"llm_prefill_mean", r.flops_exact}}}, {"fastv", {{"llm_prefill_mean", r.flops_fastv}}}}},
        {"latency_ms", {{"prefill", {{"p50", r.prefill_ms}}}}}}}};
  std::ofstream(dir / "summary.json") << summary.dump(2);
  if (!r.labels.is_null()) std::ofstream(dir / "point.json") << nlohmann::json{{"labels", r.labels}}.dump();
}

// n 0/1 scores: the first `ones` are 1.
inline std::vector<double> binary_scores(size_t n, size_t ones) {
  std::vector<double> v(n, 0.0);
  for (size_t i = 0; i < ones; ++i) v[i] = 1.0;
  return v;
}

}  // namespace pb::test
