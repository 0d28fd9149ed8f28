// compare on hand-built runs: alignment by key, the McNemar and bootstrap p-values against hand
// computation, the regression rule, flips and efficiency changes.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "report/compare.h"
#include "result_fixtures.h"
#include "test_files.h"

namespace fs = std::filesystem;
using Catch::Matchers::WithinRel;

namespace pb::test {

TEST_CASE("compare: McNemar on 0/1 scores, 8 lost and 2 gained gives p = 56/1024", "[report][compare]") {
  const TempDir tmp;
  const fs::path dir = tmp.path();
  FakeRun base;
  base.scores = binary_scores(20, 10);  // q000-q009 right
  write_fake_run(dir / "base", base);
  FakeRun cand = base;
  cand.spec = cand.pruner = "fastv";
  cand.scores = binary_scores(20, 2);   // q002-q009 lost
  cand.scores[10] = cand.scores[11] = 1;  // q010, q011 gained
  cand.flops_exact = 4e12;
  cand.prefill_ms = 50;
  cand.visual_tokens = 144;
  write_fake_run(dir / "cand", cand);

  CompareOptions o;
  const nlohmann::json r = compare_runs((dir / "base").string(), (dir / "cand").string(), o);
  CHECK(r["paired_samples"] == 20);
  CHECK(r["test"]["name"] == "mcnemar_exact");
  CHECK(r["test"]["losses"] == 8);
  CHECK(r["test"]["gains"] == 2);
  CHECK_THAT(r["test"]["p_value"].get<double>(), WithinRel(56.0 / 1024.0, 1e-12));  // 0.0547 > 0.05
  CHECK(r["accuracy"]["base"] == 50.0);
  CHECK(r["accuracy"]["candidate"] == 20.0);
  CHECK(r["regression"] == false);  // not significant at 0.05 ...
  o.alpha = 0.06;
  CHECK(compare_runs((dir / "base").string(), (dir / "cand").string(), o)["regression"] == true);  // ... but at 0.06
  o.max_drop = 30.0;  // a 30-point drop is allowed: "more than X" is needed
  CHECK(compare_runs((dir / "base").string(), (dir / "cand").string(), o)["regression"] == false);
  CHECK(r["flips"]["lost"] == 8);
  CHECK(r["flips"]["gained"] == 2);
  CHECK(r["flips"]["unchanged"] == 10);
  REQUIRE(r["top_lost"].size() == 8);
  CHECK(r["top_lost"][0]["key"] == "q002");
  CHECK(r["top_gained"][1]["key"] == "q011");
  CHECK_THAT(r["efficiency"]["llm_prefill_flops"]["exact"]["change_percent"].get<double>(), WithinRel(-50.0, 1e-12));
  CHECK_THAT(r["efficiency"]["mean_visual_tokens"]["change_percent"].get<double>(), WithinRel(-75.0, 1e-12));
  CHECK_THAT(r["efficiency"]["prefill_ms_p50"]["change_percent"].get<double>(), WithinRel(-50.0, 1e-12));
  const std::string md = compare_markdown(r);
  CHECK(md.find("exact McNemar, one-sided (candidate worse): 8 lost, 2 gained, p = 0.0547") != std::string::npos);
}

TEST_CASE("compare: samples align by key, only samples scored in both are paired", "[report][compare]") {
  const TempDir tmp;
  const fs::path dir = tmp.path();
  FakeRun base;
  base.scores = binary_scores(6, 3);
  write_fake_run(dir / "base", base);
  FakeRun cand = base;
  cand.scores = {1, 1, 1, 0};  // q000-q003 only
  write_fake_run(dir / "cand", cand);
  const nlohmann::json r = compare_runs((dir / "base").string(), (dir / "cand").string(), CompareOptions{});
  CHECK(r["paired_samples"] == 4);
  CHECK(r["only_in_base"] == 2);
  CHECK(r["only_in_candidate"] == 0);
  CHECK(r["test"]["p_value"] == 1.0);  // no discordant pair
  CHECK(r["regression"] == false);
  // Different metrics are not comparable.
  FakeRun vqa = base;
  vqa.metric = "llava_submit";
  write_fake_run(dir / "vqa", vqa);
  CHECK_THROWS_WITH(compare_runs((dir / "base").string(), (dir / "vqa").string(), CompareOptions{}),
                    Catch::Contains("not comparable"));
}

TEST_CASE("compare: paired bootstrap on VQA soft scores", "[report][compare]") {
  const TempDir tmp;
  const fs::path dir = tmp.path();
  FakeRun base;
  base.metric = "llava_submit";
  base.dataset = "vqav2";
  base.scores = {1.0, 1.0, 0.6, 0.3, 1.0, 0.9};
  write_fake_run(dir / "base", base);
  FakeRun worse = base;
  worse.scores = {0.6, 0.3, 0.3, 0.0, 0.9, 0.6};  // every question lower: no resample is >= 0
  write_fake_run(dir / "worse", worse);
  const nlohmann::json r = compare_runs((dir / "base").string(), (dir / "worse").string(), CompareOptions{});
  CHECK(r["test"]["name"] == "paired_bootstrap");
  CHECK(r["test"]["resamples"] == 10000);
  CHECK(r["test"]["seed"] == 0);
  CHECK(r["test"]["p_value"] == 0.0);
  CHECK_THAT(r["accuracy"]["difference"].get<double>(), WithinRel(-100.0 * 2.1 / 6.0, 1e-9));
  CHECK(r["regression"] == true);
  // Identical scores: p = 1, no regression.
  const nlohmann::json same = compare_runs((dir / "base").string(), (dir / "base").string(), CompareOptions{});
  CHECK(same["test"]["p_value"] == 1.0);
  CHECK(same["regression"] == false);
}

}  // namespace pb::test
