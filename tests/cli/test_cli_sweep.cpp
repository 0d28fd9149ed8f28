// `sweep`, `sweep --status`, resume of a half-finished sweep, shards + `merge`, a failing point,
// `report` over a sweep, and `compare`'s exit codes, through the executable with the tiny model.
#include <catch2/catch.hpp>

#include "eval/journal.h"
#include "eval/summary.h"
#include "result_fixtures.h"
#include "run_fixtures.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

// 3 points on one model: the unpruned run, and random pruning at two budgets.
nlohmann::json sweep_config(const std::string& spec, const std::string& extra_pruner = "") {
  nlohmann::json c = {
      {"name", "cli"},
      {"run", {{"max_new_tokens", 3}, {"threads", 1}}},
      {"models", {{{"name", "tiny"}, {"path", std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json"},
                   {"random_weights", true}, {"tokenizer", kGoldenDir + "tokenizer/llama.model"}}}},
      {"datasets", {{{"name", "vqa"}, {"spec", spec}}}},
      {"pruners", {{{"name", "none"}, {"spec", "none"}, {"budgets", {""}}}, {{"name", "random"}, {"spec", "random"}}}},
      {"budgets", {"tokens:64", "tokens:8"}},
  };
  if (!extra_pruner.empty()) c["pruners"].push_back({{"name", "broken"}, {"spec", extra_pruner}});
  return c;
}

fs::path write_config(const fs::path& dir, const nlohmann::json& c) {
  const fs::path file = dir / "sweep.config.json";
  std::ofstream(file) << c.dump(2);
  return file;
}

std::string sweep_cmd(const fs::path& config, const fs::path& out, const std::string& extra = "") {
  return "sweep --quiet --config " + shell_quote(config.string()) + " --out " + shell_quote(out.string()) + extra;
}

const std::vector<std::string> kPoints = {"tiny_vqa_none_default", "tiny_vqa_random_tokens-64", "tiny_vqa_random_tokens-8"};

// Answers per key of a point (what "the same result" means; timings differ).
std::map<std::string, std::string> answers(const fs::path& sweep, const std::string& point) {
  std::map<std::string, std::string> out;
  for (const auto& r : latest_records(read_run_journals((sweep / "points" / point).string()))) {
    out[r["key"]] = r.value("answer_raw", "<failed>") + "|" + r["score"].dump();
  }
  return out;
}

}  // namespace

TEST_CASE("sweep: runs every point once per model, resumes a half-finished sweep, reports status", "[cli][sweep]") {
  const fs::path dir = temp_dir("sweep_resume");
  const std::string spec = write_vqav2_fixture(dir / "data", 4);
  const fs::path config = write_config(dir, sweep_config(spec));

  const CliResult full = run_cli(sweep_cmd(config, dir / "reference"));
  INFO(full.err);
  REQUIRE(full.exit_code == 0);
  CHECK(full.out.find("3 points in this shard: 3 ran, 0 already done, 0 failed; 1 model load(s)") != std::string::npos);
  for (const std::string& p : kPoints) {
    const nlohmann::json s = nlohmann::json::parse(read_text(dir / "reference" / "points" / p / "summary.json"));
    CHECK(s["counts"]["ok"] == 4);
  }
  const nlohmann::json s8 = nlohmann::json::parse(read_text(dir / "reference" / "points" / kPoints[2] / "summary.json"));
  CHECK(s8["efficiency"]["mean_visual_tokens"] == 8.0);

  // Half-finished: the first shard of 2 ran (points 1-2), then the second point lost its last two
  // samples and its summary, as a kill in mid-run leaves it.
  const fs::path out = dir / "resumed";
  REQUIRE(run_cli(sweep_cmd(config, out, " --shard 0/2")).exit_code == 0);
  const fs::path journal = out / "points" / kPoints[1] / "journal.jsonl";
  const auto records = read_journal(journal.string()).records;
  REQUIRE(records.size() == 4);
  {
    std::ofstream cut(journal, std::ios::trunc);
    cut << records[0].dump() << "\n" << records[1].dump() << "\n";
  }
  fs::remove(out / "points" / kPoints[1] / "summary.json");
  const CliResult status = run_cli("sweep --status --config " + shell_quote(config.string()) + " --out " + shell_quote(out.string()));
  INFO(status.err);
  REQUIRE(status.exit_code == 0);
  CHECK(status.out.find("done     tiny_vqa_none_default") != std::string::npos);
  CHECK(status.out.find("pending  tiny_vqa_random_tokens-64  (2 samples done (interrupted))") != std::string::npos);
  CHECK(status.out.find("pending  tiny_vqa_random_tokens-8\n") != std::string::npos);
  CHECK(status.out.find("3 points: 1 done, 2 pending, 0 failed") != std::string::npos);

  const CliResult resumed = run_cli(sweep_cmd(config, out));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.out.find("tiny_vqa_none_default done, skipped") != std::string::npos);
  CHECK(resumed.out.find("3 points in this shard: 2 ran, 1 already done, 0 failed") != std::string::npos);
  // The interrupted point ran only its two missing samples: four journal lines, not six.
  CHECK(read_journal(journal.string()).records.size() == 4);
  for (const std::string& p : kPoints) CHECK(answers(dir / "reference", p) == answers(out, p));
  // --status from the sweep folder alone.
  const CliResult after = run_cli("sweep --status --out " + shell_quote(out.string()));
  CHECK(after.out.find("3 points: 3 done, 0 pending, 0 failed") != std::string::npos);

  // report over the sweep: one row per point, relative accuracy, a PNG.
  const CliResult rep = run_cli("report " + shell_quote(out.string()) + " --out " + shell_quote((dir / "report").string()));
  INFO(rep.err);
  REQUIRE(rep.exit_code == 0);
  const std::string csv = read_text(dir / "report" / "report.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  CHECK(csv.find("\ntiny,none,default,1,") != std::string::npos);
  CHECK(fs::file_size(dir / "report" / "accuracy_vs_flops_tiny_vqa.png") > 10000);
  CHECK(read_text(dir / "report" / "report.md").find("## Pareto frontiers") != std::string::npos);
}

TEST_CASE("sweep: shards in separate folders merge into the unsharded result", "[cli][sweep]") {
  const fs::path dir = temp_dir("sweep_shards");
  const std::string spec = write_vqav2_fixture(dir / "data", 3);
  const fs::path config = write_config(dir, sweep_config(spec));
  REQUIRE(run_cli(sweep_cmd(config, dir / "single")).exit_code == 0);
  for (int i = 0; i < 3; ++i) {
    const CliResult r = run_cli(sweep_cmd(config, dir / ("shard" + std::to_string(i)), " --shard " + std::to_string(i) + "/3"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("1 points in this shard: 1 ran") != std::string::npos);
  }
  const CliResult merged = run_cli("merge " + shell_quote((dir / "shard0").string()) + " " +
                                   shell_quote((dir / "shard1").string()) + " " + shell_quote((dir / "shard2").string()) +
                                   " --out " + shell_quote((dir / "merged").string()));
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);
  CHECK(merged.out.find("merged sweep: 3 of 3 points done") != std::string::npos);
  for (const std::string& p : kPoints) CHECK(answers(dir / "single", p) == answers(dir / "merged", p));
  // A different sweep is refused.
  nlohmann::json other = sweep_config(spec);
  other["budgets"] = {"tokens:32"};
  REQUIRE(run_cli(sweep_cmd(write_config(dir / "data", other), dir / "other", " --shard 0/9")).exit_code == 0);
  const CliResult refused = run_cli("merge " + shell_quote((dir / "single").string()) + " " + shell_quote((dir / "other").string()));
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("refusing to merge different sweeps") != std::string::npos);
}

TEST_CASE("sweep: a failing point is recorded and the others still run", "[cli][sweep]") {
  const fs::path dir = temp_dir("sweep_fail");
  const std::string spec = write_vqav2_fixture(dir / "data", 2);
  nlohmann::json c = sweep_config(spec, "random:nope=1");
  c["budgets"] = {"tokens:8"};
  const fs::path config = write_config(dir, c);
  const CliResult r = run_cli(sweep_cmd(config, dir / "out"));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("1 point(s) failed") != std::string::npos);
  CHECK(r.out.find("tiny_vqa_broken_tokens-8 failed: random: unknown parameter 'nope'") != std::string::npos);
  const CliResult status = run_cli("sweep --status --out " + shell_quote((dir / "out").string()));
  CHECK(status.out.find("failed   tiny_vqa_broken_tokens-8  (random: unknown parameter 'nope'") != std::string::npos);
  CHECK(status.out.find("3 points: 2 done, 0 pending, 1 failed") != std::string::npos);
}

TEST_CASE("compare: exit 0 without a regression, 3 with one, 1 on errors, 2 on misuse", "[cli][compare]") {
  const fs::path dir = temp_dir("compare_exit");
  FakeRun base;
  base.scores = binary_scores(12, 10);
  write_fake_run(dir / "base", base);
  FakeRun cand = base;
  cand.scores = binary_scores(12, 4);  // 6 lost, none gained: p = 2^-6 = 0.0156
  write_fake_run(dir / "cand", cand);
  const std::string b = shell_quote((dir / "base").string()), c = shell_quote((dir / "cand").string());

  const CliResult same = run_cli("compare " + b + " " + b);
  CHECK(same.exit_code == 0);
  CHECK(same.out.find("# compare: no regression") != std::string::npos);
  const CliResult worse = run_cli("compare " + b + " " + c + " --out " + shell_quote((dir / "cmp").string()));
  CHECK(worse.exit_code == 3);
  CHECK(worse.out.find("6 lost, 0 gained, p = 0.0156") != std::string::npos);
  CHECK(nlohmann::json::parse(read_text(dir / "cmp" / "compare.json"))["regression"] == true);
  CHECK(read_text(dir / "cmp" / "compare.md").find("# compare: REGRESSION") != std::string::npos);
  CHECK(run_cli("compare " + b + " " + c + " --alpha 0.01").exit_code == 0);       // p = 0.0156 >= 0.01
  CHECK(run_cli("compare " + b + " " + c + " --max-drop 50").exit_code == 0);      // the drop is exactly 50 points
  CHECK(run_cli("compare " + b + " " + c + " --max-drop 49.9").exit_code == 3);
  CHECK(run_cli("compare " + c + " " + b).exit_code == 0);                          // the reverse is an improvement
  const CliResult missing = run_cli("compare " + b + " " + shell_quote((dir / "nothing").string()));
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("no summary.json") != std::string::npos);
  CHECK(run_cli("compare " + b).exit_code == 2);
  CHECK(run_cli("compare " + b + " " + c + " --alpha 2").exit_code == 2);
}

}  // namespace pb::test
