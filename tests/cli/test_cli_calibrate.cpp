// `calibrate` end to end: a FitPrune recipe fitted on a VQAv2-format fixture with the text-capable
// tiny model, reproducible, meeting its budget, usable by `run`; and its refusals.
#include <catch2/catch.hpp>

#include "eval/journal.h"
#include "flops/flops.h"
#include "io/model_config.h"
#include "pruners/fitprune_recipe.h"
#include "run_fixtures.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace pb::test {
namespace {

const std::string kTinyConfig = std::string(PB_SOURCE_DIR) + "/configs/models/llava15-tiny-text.json";

std::string calibrate_args(const std::string& spec, const fs::path& out, const std::string& extra = "",
                           const std::string& pruner = "fitprune", const std::string& budget = "flops:0.5",
                           int samples = 4) {
  return "calibrate --pruner " + pruner + " --model " + shell_quote(kTinyConfig) + " --random-weights --tokenizer " +
         shell_quote(kGoldenDir + "tokenizer/llama.model") + " --threads 1 --quiet --dataset " + shell_quote(spec) +
         " --samples " + std::to_string(samples) + " --budget " + budget + " --out " + shell_quote(out.string()) +
         (extra.empty() ? "" : " " + extra);
}

}  // namespace

TEST_CASE("calibrate: a reproducible FitPrune recipe that run can use", "[cli][calibrate]") {
  const fs::path dir = temp_dir("calibrate");
  const std::string spec = write_vqav2_fixture(dir / "data", 6);
  const CliResult a = run_cli(calibrate_args(spec, dir / "a.json"));
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  CHECK_THAT(a.out, Catch::Contains("recipe: ") && Catch::Contains("FLOPs removed by the recipe"));
  const FitpruneRecipe ra = read_fitprune_recipe((dir / "a.json").string());
  CHECK(ra.delete_per_layer.size() == 3);
  CHECK(ra.n_visual == 576);
  CHECK(ra.fit_select == "official");
  CHECK(ra.never_break == "reuse");
  CHECK(ra.head_aggregation == "max");
  CHECK(ra.model_config_hash == load_llava_config(kTinyConfig).hash());
  CHECK(ra.calibration["sample_keys"] == nlohmann::json({"1000", "1001", "1002", "1003"}));
  CHECK(ra.calibration["protocol"] == "llava15@1");
  CHECK(ra.search.size() == 7);
  CHECK(ra.alpha == ra.search.back()["alpha"].get<double>());

  // Twice: the same deletions and alpha, bit for bit.
  const CliResult b = run_cli(calibrate_args(spec, dir / "b.json"));
  REQUIRE(b.exit_code == 0);
  const FitpruneRecipe rb = read_fitprune_recipe((dir / "b.json").string());
  CHECK(rb.delete_per_layer == ra.delete_per_layer);
  CHECK(rb.alpha == ra.alpha);
  CHECK(rb.search == ra.search);

  // run applies it: the visual tokens per layer follow the recipe, dropped inside the layers.
  const std::string recipe = "fitprune:recipe=" + (dir / "a.json").string();
  const CliResult run = run_cli("run " + tiny_model_args() + " --dataset " + shell_quote(spec) + " --limit 2" +
                                " --pruner " + shell_quote(recipe) + " --out " + shell_quote((dir / "run").string()));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto journal = read_journal((dir / "run" / "journal.jsonl").string()).records;
  REQUIRE(journal.size() == 2);
  std::vector<int64_t> in, after;
  for (const LayerTokens& t : fitprune_schedule(ra.delete_per_layer, 576)) {
    in.push_back(t.in);
    after.push_back(t.after_attn);
  }
  CHECK(journal[0]["visual_tokens_per_layer"] == in);
  if (in != after) CHECK(journal[0]["visual_tokens_after_attn"] == after);
}

TEST_CASE("calibrate: smallest-reaching meets the FLOPs budget within a point", "[cli][calibrate]") {
  const fs::path dir = temp_dir("calibrate_smallest");
  const std::string spec = write_vqav2_fixture(dir / "data", 6);
  const CliResult r = run_cli(calibrate_args(spec, dir / "r.json", "--fit-select smallest-reaching --subset-seed 3"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const FitpruneRecipe recipe = read_fitprune_recipe((dir / "r.json").string());
  CHECK(recipe.fit_select == "smallest-reaching");
  CHECK(recipe.calibration["selection"]["subset_seed"] == 3);
  const LlavaConfig cfg = load_llava_config(kTinyConfig);
  const double full = llm_prefill_flops(cfg, 0, uniform_schedule(3, 576), FlopsConvention::kFitPrune);
  const std::vector<LayerTokens> schedule = fitprune_schedule(recipe.delete_per_layer, 576);
  const double removed = 1.0 - llm_prefill_flops(cfg, 0, schedule, FlopsConvention::kFitPrune) / full;
  CHECK(removed == Approx(0.5).margin(0.01));
}

TEST_CASE("calibrate: refusals name what is wrong", "[cli][calibrate]") {
  const fs::path dir = temp_dir("calibrate_errors");
  const std::string spec = write_vqav2_fixture(dir / "data", 3);
  const fs::path out = dir / "r.json";
  struct Case {
    std::string args;
    int exit_code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {calibrate_args(spec, out, "", "fastv"), 1, "only fitprune has a calibration step"},
      {calibrate_args(spec, out, "", "fitprune", "tokens:64"), 1, "flops:F"},
      {calibrate_args(spec, out, "--convention fastv", "fitprune", "flops:0.5@exact"), 1, "different conventions"},
      {calibrate_args(spec, out, "--fit-select best"), 2, "--fit-select"},
      {calibrate_args(spec, out, "--never-break sometimes"), 2, "--never-break"},
      {calibrate_args(spec, out, "", "fitprune", "flops:0.5", 9), 1, "holds 3 samples"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    const CliResult r = run_cli(c.args);
    CHECK(r.exit_code == c.exit_code);
    CHECK_THAT(r.err, Catch::Contains(c.says));
    CHECK(!fs::exists(out));
  }
}

}  // namespace pb::test
