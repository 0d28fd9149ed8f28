// The journal and summary building blocks of `run`: durability rules and the statistics they feed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/journal.h"
#include "eval/summary.h"
#include "test_files.h"

namespace pb::test {

TEST_CASE("journal: appended records read back in order", "[eval]") {
  TempDir dir;
  const std::string path = dir.file("j.jsonl");
  {
    JournalWriter w(path);
    w.append({{"key", "a"}, {"score", 1.0}});
    w.append({{"key", "b"}, {"score", 0.5}});
  }
  const JournalContents c = read_journal(path);
  REQUIRE(c.records.size() == 2);
  CHECK(c.records[1]["key"] == "b");
  CHECK(c.torn_bytes == 0);
}

TEST_CASE("journal: repair sets corrupt lines aside, keeps the good ones and the original", "[eval]") {
  TempDir dir;
  const std::string path = dir.file("j.jsonl");
  const std::string original =
      "{\"key\":\"a\"}\n"
      "#######\n"                 // not JSON
      "{\"score\":1}\n"          // JSON, but no key
      "{\"key\":\"d\"}\n"
      "{\"key\":\"e";             // torn: left for JournalWriter
  write_bytes(path, original);
  std::string backup;
  CHECK(repair_journal(path, &backup) == std::vector<size_t>{2, 3});
  CHECK(backup == path + ".corrupt-1");
  CHECK(read_bytes(backup) == original);
  const JournalContents c = read_journal(path);
  REQUIRE(c.records.size() == 2);
  CHECK(c.records[0]["key"] == "a");
  CHECK(c.records[1]["key"] == "d");
  CHECK(c.torn_bytes == 9);  // {"key":"e
  CHECK(repair_journal(path).empty());  // nothing more to do, nothing touched
  CHECK_FALSE(std::filesystem::exists(path + ".corrupt-2"));
}

TEST_CASE("journal: a torn last line is dropped and truncated away on reopen", "[eval]") {
  TempDir dir;
  const std::string path = dir.file("j.jsonl");
  { std::ofstream(path) << "{\"key\":\"a\"}\n{\"key\":\"b\",\"sco"; }
  const JournalContents c = read_journal(path);
  CHECK(c.records.size() == 1);
  CHECK(c.torn_bytes == std::string("{\"key\":\"b\",\"sco").size());
  {
    JournalWriter w(path);  // truncates the torn tail, then appends after the last complete line
    w.append({{"key", "b"}});
  }
  const JournalContents after = read_journal(path);
  REQUIRE(after.records.size() == 2);
  CHECK(after.records[1]["key"] == "b");
  CHECK(after.torn_bytes == 0);
}

TEST_CASE("journal: a corrupt complete line is an error naming file and line", "[eval]") {
  TempDir dir;
  const std::string path = dir.file("j.jsonl");
  { std::ofstream(path) << "{\"key\":\"a\"}\nnot json\n{\"key\":\"c\"}\n"; }
  try {
    read_journal(path);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(path + ": line 2") != std::string::npos);
  }
}

TEST_CASE("summary: latest record per key wins and records come out in key order", "[eval]") {
  const std::vector<nlohmann::json> records = {
      {{"key", "b"}, {"v", 1}}, {{"key", "a"}, {"v", 2}}, {{"key", "b"}, {"v", 3}}};
  const auto latest = latest_records(records);
  REQUIRE(latest.size() == 2);
  CHECK(latest[0]["key"] == "a");
  CHECK(latest[1]["v"] == 3);
}

TEST_CASE("summary: nearest-rank percentiles", "[eval]") {
  CHECK(percentile({5, 1, 4, 2, 3}, 50) == 3);
  CHECK(percentile({5, 1, 4, 2, 3}, 90) == 5);
  CHECK(percentile({5, 1, 4, 2, 3}, 0) == 1);
  CHECK(percentile({7}, 90) == 7);
  CHECK(std::isnan(percentile({}, 50)));
}

TEST_CASE("summary: counts, accuracy and breakdowns from records", "[eval]") {
  auto ok = [](const std::string& key, double score, const std::string& type) {
    return nlohmann::json{{"key", key},
                          {"status", "ok"},
                          {"score", score},
                          {"groups", {{"answer_type", type}}},
                          {"visual_tokens_per_layer", {576, 576}},
                          {"text_tokens", 60},
                          {"new_tokens", 2},
                          {"times_ms", {{"prefill", 10.0}}}};
  };
  std::vector<nlohmann::json> records = {ok("1", 1.0, "yes/no"), ok("2", 0.0, "yes/no"), ok("3", 1.0, "number"),
                                         {{"key", "4"}, {"status", "failed"}, {"error", "no image"}}};
  SummaryInputs inputs;
  inputs.total_samples = 5;
  const nlohmann::json s = summarize(records, inputs);
  CHECK(s["counts"]["ok"] == 3);
  CHECK(s["counts"]["failed"] == 1);
  CHECK(s["counts"]["pending"] == 1);
  CHECK(s["metrics"]["overall"]["accuracy"].get<double>() == Approx(200.0 / 3));
  CHECK(s["metrics"]["breakdowns"]["answer_type"]["yes/no"]["accuracy"].get<double>() == Approx(50.0));
  CHECK(s["metrics"]["breakdowns"]["answer_type"]["number"]["n"] == 1);
  CHECK(s["efficiency"]["mean_visual_tokens"] == 576.0);
  CHECK(s["failures"][0]["key"] == "4");
}

}  // namespace pb::test
