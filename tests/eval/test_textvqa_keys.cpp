// LLaVA's TextVQA question file keys 5,000 questions by 3,166 image ids. Every path that handles
// samples by key (journal, resume, merge of shards, summaries) must keep all 5,000 apart.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "datasets/dataset.h"
#include "eval/journal.h"
#include "eval/summary.h"
#include "test_files.h"

namespace pb::test {

TEST_CASE("keys: the 5,000 TextVQA lines survive journals, resume, shards and summaries", "[eval]") {
  const Dataset dataset = load_dataset("llava-jsonl:questions=" +
                                       data_path("llava_eval_fixtures/textvqa/llava_textvqa_val_v051_ocr.jsonl") +
                                       ",images=" + data_path("") + ",kind=textvqa");
  REQUIRE(dataset.samples.size() == 5000);
  std::set<std::string> ids;
  for (const Sample& s : dataset.samples) ids.insert(s.question_id);
  REQUIRE(ids.size() == 3166);

  TempDir dir;
  // Three "shards" journal their contiguous chunks; the second is interrupted mid-line and resumed.
  const size_t chunk = (dataset.samples.size() + 2) / 3;
  auto record = [](const Sample& s) {
    return nlohmann::json{{"key", s.key},           {"question_id", s.question_id}, {"status", "ok"},
                          {"score", 1.0},           {"answer_raw", s.question},     {"visual_tokens_per_layer", {576}},
                          {"text_tokens", 60},      {"new_tokens", 1},              {"times_ms", nlohmann::json::object()}};
  };
  for (size_t shard = 0; shard < 3; ++shard) {
    const std::string path = dir.file("journal.shard-" + std::to_string(shard) + "-of-3.jsonl");
    const size_t begin = shard * chunk, end = std::min(dataset.samples.size(), begin + chunk);
    {
      JournalWriter w(path);
      for (size_t i = begin; i < end; ++i) {
        if (shard == 1 && i == begin + 100) break;  // "killed" here
        w.append(record(dataset.samples[i]));
      }
    }
    if (shard == 1) {
      { std::ofstream(path, std::ios::app) << "{\"key\": \"torn"; }  // the write in flight
      std::set<std::string> done;
      for (const auto& r : read_journal(path).records) done.insert(r["key"]);
      JournalWriter w(path);  // resume: truncates the torn line, appends the rest
      for (size_t i = begin; i < end; ++i) {
        if (done.count(dataset.samples[i].key) == 0) w.append(record(dataset.samples[i]));
      }
    }
  }
  std::vector<nlohmann::json> all;
  for (size_t shard = 0; shard < 3; ++shard) {
    for (auto& r : read_journal(dir.file("journal.shard-" + std::to_string(shard) + "-of-3.jsonl")).records) {
      all.push_back(std::move(r));
    }
  }
  const std::vector<nlohmann::json> latest = latest_records(all);
  CHECK(latest.size() == 5000);
  std::set<std::string> keys;
  for (const auto& r : latest) keys.insert(r["key"].get<std::string>());
  CHECK(keys.size() == 5000);
  bool every_key_finds_its_sample = true;
  for (const Sample& s : dataset.samples) every_key_finds_its_sample &= dataset.find(s.key) == &s;
  CHECK(every_key_finds_its_sample);
  SummaryInputs inputs;
  inputs.total_samples = 5000;
  const nlohmann::json summary = summarize(all, inputs);
  CHECK(summary["counts"]["ok"] == 5000);
  CHECK(summary["counts"]["pending"] == 0);
}

}  // namespace pb::test
