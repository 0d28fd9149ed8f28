// Comparing run folders in the CLI tests: "equal results" means equal answers and scores per key,
// equal counts and metrics (never timings).
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "eval/journal.h"
#include "run_fixtures.h"

namespace pb::test {

namespace fs = std::filesystem;

inline nlohmann::json summary_of(const fs::path& dir, const std::string& name = "summary.json") {
  return nlohmann::json::parse(read_text(dir / name));
}

// What "equal results" means: answers and scores per key, counts and metrics (not timings).
inline std::map<std::string, std::pair<std::string, nlohmann::json>> answers_by_key(const fs::path& dir) {
  std::map<std::string, std::pair<std::string, nlohmann::json>> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const auto& r : read_journal(entry.path().string()).records) {
      out[r["key"]] = {r.value("answer_raw", std::string("<failed>")), r.value("score", nlohmann::json())};
    }
  }
  return out;
}

inline void require_equal_results(const fs::path& a, const fs::path& b) {
  const nlohmann::json sa = summary_of(a), sb = summary_of(b);
  CHECK(sa["counts"] == sb["counts"]);
  CHECK(sa["metrics"] == sb["metrics"]);
  CHECK(sa["config_hash"] == sb["config_hash"]);
  CHECK(sa["efficiency"]["mean_visual_tokens"] == sb["efficiency"]["mean_visual_tokens"]);
  CHECK(answers_by_key(a) == answers_by_key(b));
}

inline std::string run_args(const std::string& spec, const fs::path& out) {
  return "run " + tiny_model_args() + " --dataset " + shell_quote(spec) + " --out " + shell_quote(out.string());
}

}  // namespace pb::test
