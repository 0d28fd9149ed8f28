// `prune-bench flops` through the executable: its JSON equals flops_report() and holds the
// published figures; bad input exits 1 (2 for command-line misuse) with one `error:` line.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../cli/cli_runner.h"
#include "flops/flops.h"
#include "flops_test_util.h"
#include "test_paths.h"

using Catch::Matchers::Contains;
using nlohmann::json;

namespace pb::test {
namespace {

const std::string kLlava15 = std::string(PB_SOURCE_DIR) + "/configs/models/llava-1.5-7b-hf.json";
const std::string kTinyDir = std::string(PB_TEST_DATA) + "/golden/llava15-tiny";

std::string write_schedule(const std::string& name, const json& schedule) {
  const auto path = temp_dir(name) / "schedule.json";
  std::ofstream(path) << schedule.dump();
  return path.string();
}

}  // namespace

TEST_CASE("flops cli: FastV K=2 schedule under the fastv convention", "[flops][cli]") {
  std::vector<LayerTokens> schedule = uniform_schedule(32, 288);
  schedule[0] = schedule[1] = {576, 576};
  const std::string path = write_schedule("fastv", schedule_to_json(schedule));
  const CliResult r = run_cli("flops --model " + shell_quote(kLlava15) + " --text-tokens 60 --convention fastv " +
                              "--schedule " + shell_quote(path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json out = json::parse(r.out);
  CHECK(out == flops_report(load_llava_config(kLlava15), 60, schedule, FlopsConvention::kFastV));
  CHECK(out["convention"]["name"] == "fastv");
  CHECK(out["model"]["hash"] == load_llava_config(kLlava15).hash());
  CHECK(sci(out["llm_prefill"].get<double>(), 3) == "1.879e+12");
  CHECK(sci(out["unpruned"]["llm_prefill"].get<double>(), 3) == "3.307e+12");
  CHECK(fmt::format("{:.3f}", out["reduction_vs_unpruned"].get<double>()) == "0.432");
}

TEST_CASE("flops cli: exact by default on the golden tiny model folder", "[flops][cli]") {
  const CliResult r = run_cli("flops --model " + shell_quote(kTinyDir) + " --text-tokens 4");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json out = json::parse(r.out);
  CHECK(out["convention"]["name"] == "exact");
  CHECK(out["visual_tokens"] == json::parse("[576, 576, 576]"));  // default: the model's 576
  CHECK(out["llm_prefill"] == 1204469760.0);                      // hand count, test_flops_exact.cpp
  CHECK(out["total"] == 327254528.0 + 28311552.0 + 1204469760.0 + 262144.0);
  CHECK_FALSE(out.contains("reduction_vs_unpruned"));

  const CliResult fewer = run_cli("flops --model " + shell_quote(kTinyDir) + " --text-tokens 4 --visual-tokens 64");
  REQUIRE(fewer.exit_code == 0);
  const json pruned = json::parse(fewer.out);
  CHECK(pruned["visual_tokens"] == json::parse("[64, 64, 64]"));
  CHECK(pruned["unpruned"]["visual_tokens"] == 576);
  CHECK(pruned["reduction_vs_unpruned"].get<double>() > 0.5);
}

TEST_CASE("flops cli: errors", "[flops][cli]") {
  const std::string bad = write_schedule("bad", json::parse("[576, 576, -3]"));
  const CliResult r = run_cli("flops --model " + shell_quote(kTinyDir) + " --text-tokens 4 --schedule " +
                              shell_quote(bad));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("error: ") && Contains(bad) && Contains("entry 2"));

  const CliResult many = run_cli("flops --model " + shell_quote(kTinyDir) + " --text-tokens 4 --visual-tokens 600");
  CHECK(many.exit_code == 1);
  CHECK_THAT(many.err, Contains("600") && Contains("576"));

  const CliResult conv = run_cli("flops --model " + shell_quote(kTinyDir) + " --text-tokens 4 --convention flops");
  CHECK(conv.exit_code == 2);

  const CliResult no_text = run_cli("flops --model " + shell_quote(kTinyDir));
  CHECK(no_text.exit_code == 2);
}

}  // namespace pb::test
