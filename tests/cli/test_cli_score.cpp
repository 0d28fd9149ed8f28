// `score` on LLaVA-1.5-13B's official answer files against ground truth written in the official formats.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

#include "cli_runner.h"
#include "test_paths.h"

namespace pb::test {
namespace {

const std::string kData = std::string(PB_TEST_DATA) + "/";

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

}  // namespace

TEST_CASE("score: LLaVA-1.5-13B GQA answers against a GQA ground-truth fixture", "[cli][score]") {
  const auto out = temp_dir("score_gqa") / "scores.jsonl";
  const std::string spec = "llava-jsonl:questions=" + kData + "llava_eval_fixtures/gqa/llava_gqa_testdev_balanced.jsonl" +
                           ",images=" + kData + ",kind=gqa,annotations=" + kData +
                           "datasets/gqa/testdev_balanced_questions.json";
  const CliResult r = run_cli("score --dataset " + shell_quote(spec) + " --predictions " +
                              shell_quote(kData + "llava_eval_fixtures/gqa/answers_llava-v1.5-13b.jsonl") +
                              " --metric gqa_llava --out " + shell_quote(out.string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // 5 of the 12,578 questions have ground truth in the fixture; the rest are answered but unscored.
  CHECK(r.out.find("gqa_llava: 80.00 over 5 scored predictions (12573 without ground truth, 0 unknown") !=
        std::string::npos);
  std::map<std::string, nlohmann::json> scores;
  const auto rows = read_jsonl(out);
  CHECK(rows.size() == 12578);
  for (const auto& row : rows) scores[row["question_id"]] = row["score"];
  // Hand-checked: the model answered "No", "Woman", "No", "Yes", "Tall"; the fixture's answers are
  // no, woman, no, yes, short. rstrip('.').lower() makes the first four exact matches.
  CHECK(scores["201307251"] == 1.0);
  CHECK(scores["201640614"] == 1.0);
  CHECK(scores["202225914"] == 1.0);
  CHECK(scores["2062325"] == 1.0);
  CHECK(scores["201303229"] == 0.0);
  CHECK(scores["20427618"].is_null());
}

TEST_CASE("score: TextVQA answers keyed by image id are matched by their prompt", "[cli][score]") {
  const auto out = temp_dir("score_textvqa") / "scores.jsonl";
  const std::string spec = "llava-jsonl:questions=" + kData +
                           "llava_eval_fixtures/textvqa/llava_textvqa_val_v051_ocr.jsonl,images=" + kData +
                           ",kind=textvqa,annotations=" + kData + "datasets/textvqa/TextVQA_0.5.1_val.json";
  const CliResult r = run_cli("score --dataset " + shell_quote(spec) + " --predictions " +
                              shell_quote(kData + "llava_eval_fixtures/textvqa/answers_llava-v1.5-13b.jsonl") +
                              " --metric m4c --out " + shell_quote(out.string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto rows = read_jsonl(out);
  REQUIRE(rows.size() == 5000);  // every line found its own question despite 3,166 distinct ids
  std::set<std::string> keys;
  size_t scored = 0;
  for (const auto& row : rows) {
    keys.insert(row.at("key").get<std::string>());
    if (!row["score"].is_null()) ++scored;
  }
  CHECK(keys.size() == 5000);
  CHECK(scored == 5);  // the fixture mirrors five of the lines
  CHECK(r.out.find("0 unknown ignored, 0 questions unanswered") != std::string::npos);
}

}  // namespace pb::test
