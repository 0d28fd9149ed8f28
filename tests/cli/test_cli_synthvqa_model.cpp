// The committed embedded model (models/synthvqa-tiny) meets issue 6's quality bar on a fixed SynthVQA
// val subset, scored by `run` exactly as a user runs it: the first 300 val questions (seed 0; balanced,
// 50 per type), llava15 protocol, bf16, unpruned.
#include <catch2/catch.hpp>

#include "run_fixtures.h"

namespace pb::test {

TEST_CASE("the embedded SynthVQA model: >= 80% overall and >= 60% per type (reading >= 50%) on 300 val questions",
          "[cli][model][synthvqa]") {
  const std::filesystem::path dir = temp_dir("synthvqa_quality");
  const CliResult r = run_cli("run --model " + shell_quote(std::string(PB_SOURCE_DIR) + "/models/synthvqa-tiny") +
                              " --dataset " + shell_quote("synthvqa:split=val,n=300,seed=0,dir=" + (dir / "data").string()) +
                              " --dtype bf16 --threads 2 --quiet --out " + shell_quote((dir / "out").string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json metrics = nlohmann::json::parse(read_text(dir / "out" / "summary.json"))["metrics"];
  CHECK(metrics["overall"]["n"] == 300);
  INFO("overall " << metrics["overall"]["accuracy"] << ", per type " << metrics["breakdowns"]["question_type"].dump());
  CHECK(metrics["overall"]["accuracy"].get<double>() >= 80.0);
  const nlohmann::json& types = metrics["breakdowns"]["question_type"];
  REQUIRE(types.size() == 6);
  for (const auto& [type, score] : types.items()) {
    INFO("question type " << type);
    CHECK(score["n"] == 50);
    CHECK(score["accuracy"].get<double>() >= (type == "reading" ? 50.0 : 60.0));
  }
}

}  // namespace pb::test
