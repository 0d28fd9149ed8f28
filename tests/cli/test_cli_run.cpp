// `run`, resume after SIGKILL, shards + merge, and `score`, end to end through the executable on a
// VQAv2-format fixture with the text-capable tiny model.
#include <catch2/catch.hpp>

#include <map>

#include "eval/journal.h"
#include "run_fixtures.h"
#include "run_results.h"

namespace fs = std::filesystem;

namespace pb::test {

TEST_CASE("run: journal, counts, failures and accuracy equal to score on the journal's answers", "[cli][run]") {
  const fs::path dir = temp_dir("run_basic");
  const std::string spec = write_vqav2_fixture(dir / "data", 6, /*missing_image=*/4);
  const CliResult r = run_cli(run_args(spec, dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json s = summary_of(dir / "out");
  CHECK(s["schema_version"] == 1);
  CHECK(s["counts"]["total"] == 6);
  CHECK(s["counts"]["ok"] == 5);
  CHECK(s["counts"]["failed"] == 1);
  CHECK(s["counts"]["scored"] == 5);
  CHECK(s["failures"][0]["key"] == "1004");
  CHECK(s["failures"][0]["error"].get<std::string>().find("COCO_val2014_000000000999.jpg") != std::string::npos);
  CHECK(s["protocol"]["id"] == "llava15@1");
  CHECK(s["context"]["git_sha"].is_string());
  CHECK(s["efficiency"]["mean_visual_tokens"] == 576.0);
  const auto journal = read_journal((dir / "out" / "journal.jsonl").string()).records;
  REQUIRE(journal.size() == 6);
  CHECK(journal[0]["visual_tokens_per_layer"] == nlohmann::json({576, 576, 576}));

  // The same answers through `score` give the same accuracy.
  nlohmann::json predictions = nlohmann::json::array();
  for (const auto& rec : journal) {
    if (rec["status"] == "ok") predictions.push_back({{"question_id", std::stoi(rec["key"].get<std::string>())},
                                                      {"answer", rec["answer_raw"]}});
  }
  std::ofstream(dir / "pred.json") << predictions.dump();
  const CliResult scored = run_cli("score --dataset " + shell_quote(spec) + " --predictions " +
                                   shell_quote((dir / "pred.json").string()) + " --metric llava_submit --out " +
                                   shell_quote((dir / "scores.jsonl").string()));
  INFO(scored.err);
  REQUIRE(scored.exit_code == 0);
  double total = 0;
  int n = 0;
  std::ifstream lines(dir / "scores.jsonl");
  for (std::string line; std::getline(lines, line); ++n) total += nlohmann::json::parse(line)["score"].get<double>();
  CHECK(n == 5);
  CHECK(100.0 * total / n == Approx(s["metrics"]["overall"]["accuracy"].get<double>()).margin(1e-9));
}

TEST_CASE("run: a run killed with SIGKILL resumes to the uninterrupted result", "[cli][run]") {
  const fs::path dir = temp_dir("run_kill");
  const std::string spec = write_vqav2_fixture(dir / "data", 10);
  REQUIRE(run_cli(run_args(spec, dir / "reference")).exit_code == 0);
  for (const char* kill_after : {"0.5", "1.0", "1.6"}) {
    DYNAMIC_SECTION("killed after " << kill_after << " s") {
      const fs::path out = dir / (std::string("killed_") + kill_after);
      const CliResult killed = run_cli_with_prefix("timeout -s KILL " + std::string(kill_after), run_args(spec, out));
      INFO(killed.err);
      const CliResult resumed = run_cli(run_args(spec, out));
      INFO(resumed.err);
      REQUIRE(resumed.exit_code == 0);
      require_equal_results(dir / "reference", out);
    }
  }
}

TEST_CASE("run: shards merged equal a single run", "[cli][run]") {
  const fs::path dir = temp_dir("run_shards");
  const std::string spec = write_vqav2_fixture(dir / "data", 7);
  REQUIRE(run_cli(run_args(spec, dir / "single")).exit_code == 0);
  for (int i = 0; i < 3; ++i) {
    const CliResult r = run_cli(run_args(spec, dir / "sharded") + " --shard " + std::to_string(i) + "/3");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const CliResult merged = run_cli("merge " + shell_quote((dir / "sharded").string()));
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);
  require_equal_results(dir / "single", dir / "sharded");
  // A shard's own summary covers only its contiguous chunk of ceil(7/3) = 3 samples.
  CHECK(summary_of(dir / "sharded", "summary.shard-0-of-3.json")["counts"]["total"] == 3);
  CHECK(summary_of(dir / "sharded", "summary.shard-2-of-3.json")["counts"]["total"] == 1);
}

TEST_CASE("run: a folder holding a different configuration is refused", "[cli][run]") {
  const fs::path dir = temp_dir("run_conflict");
  const std::string spec = write_vqav2_fixture(dir / "data", 2);
  REQUIRE(run_cli(run_args(spec, dir / "out")).exit_code == 0);
  const CliResult r = run_cli(run_args(spec, dir / "out") + " --protocol lmms-eval");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("different configuration") != std::string::npos);
}

TEST_CASE("run: --dtype auto records the dtype that ran, and resumes into a folder of that dtype", "[cli][run]") {
  const fs::path dir = temp_dir("run_dtype_auto");
  const std::string spec = write_vqav2_fixture(dir / "data", 2);
  const CliResult r = run_cli(run_args(spec, dir / "out") + " --dtype auto");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json run = summary_of(dir / "out", "run.json");
  const std::string ran = run["config"]["dtype"];
  CHECK((ran == "fp32" || ran == "bf16"));
  // Naming the resolved dtype is the same configuration; the other one is not.
  CHECK(run_cli(run_args(spec, dir / "out") + " --dtype " + ran).exit_code == 0);
  const CliResult other = run_cli(run_args(spec, dir / "out") + " --dtype " + (ran == "fp32" ? "bf16" : "fp32"));
  CHECK(other.exit_code == 1);
  CHECK(other.err.find("different configuration") != std::string::npos);
}

TEST_CASE("run: an image symlink pointing out of the images folder is refused; one pointing inside is read",
          "[cli][run]") {
  const fs::path dir = temp_dir("run_symlink");
  const std::string spec = write_vqav2_fixture(dir / "data", 3);  // images 1, 2, 3
  const fs::path images = dir / "data" / "images";
  fs::copy_file(images / fmt_image(1), dir / "outside.jpg");
  fs::remove(images / fmt_image(1));
  fs::create_symlink(dir / "outside.jpg", images / fmt_image(1));  // escapes (a real image, so only the path is wrong)
  fs::remove(images / fmt_image(2));
  fs::create_symlink(fmt_image(3), images / fmt_image(2));          // stays inside: allowed
  const CliResult r = run_cli(run_args(spec, dir / "out"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, nlohmann::json> by_key;
  for (const auto& rec : read_journal((dir / "out" / "journal.jsonl").string()).records) by_key[rec["key"]] = rec;
  REQUIRE(by_key.size() == 3);
  CHECK(by_key["1000"]["status"] == "failed");
  CHECK(by_key["1000"]["error"].get<std::string>().find("outside the images folder") != std::string::npos);
  CHECK(by_key["1001"]["status"] == "ok");
  CHECK(by_key["1002"]["status"] == "ok");
}

}  // namespace pb::test
