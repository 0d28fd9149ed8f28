// report: Pareto frontiers by hand, the method x budget table with relative accuracy, CSV, and the
// PNG (decoded back: size, and ink where the axes and the series are drawn).
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "core/error.h"
#include "report/line_plot.h"
#include "report/pareto.h"
#include "report/report_plot.h"
#include "report/report_table.h"
#include "result_fixtures.h"
#include "test_files.h"

namespace fs = std::filesystem;

namespace pb::test {

TEST_CASE("pareto: dominated points are dropped, ties kept, NaN ignored", "[report]") {
  // (cost, accuracy): B dominates C (cheaper and better); D costs more but is best; E equals B.
  const std::vector<CostAccuracy> pts = {{10, 70}, {4, 60}, {6, 55}, {12, 72}, {4, 60}, {NAN, 99}, {3, 40}, {8, 60}};
  CHECK(pareto_frontier(pts) == std::vector<size_t>{6, 1, 4, 0, 3});
  CHECK(pareto_frontier({}).empty());
}

TEST_CASE("nice ticks cover the range with 1/2/2.5/5 steps", "[report]") {
  CHECK(nice_ticks(0.13, 0.92) == std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0});
  const std::vector<double> t = nice_ticks(52, 71);
  CHECK(t.front() == 50);
  CHECK(t.back() == 75);
  CHECK(t[1] - t[0] == 5);
}

TEST_CASE("report: rows method x budget, relative accuracy to the unpruned run, frontiers, plot", "[report]") {
  const TempDir tmp;
  const fs::path dir = tmp.path();
  auto budget = [](int tokens) { return nlohmann::json{{"kind", "tokens"}, {"tokens", tokens}}; };
  FakeRun none;
  none.scores = binary_scores(10, 8);  // 80
  write_fake_run(dir / "none-gqa", none);
  FakeRun fastv = none;
  fastv.pruner = "fastv";
  fastv.spec = "fastv:K=2";
  for (int tokens : {192, 64}) {
    fastv.budget = budget(tokens);
    fastv.scores = binary_scores(10, tokens == 192 ? 8 : 6);  // 80, 60
    fastv.flops_exact = tokens == 192 ? 4e12 : 2e12;
    fastv.prefill_ms = tokens == 192 ? 60 : 40;
    write_fake_run(dir / ("fastv-" + std::to_string(tokens)), fastv);
  }
  FakeRun random = none;
  random.pruner = random.spec = "random";
  random.budget = budget(64);
  random.scores = binary_scores(10, 7);  // 70: beats fastv at the same cost
  random.flops_exact = 2e12;
  random.prefill_ms = 45;
  write_fake_run(dir / "random-64", random);
  FakeRun vqa = none;  // a second dataset, unpruned only
  vqa.dataset = "vqav2";
  vqa.metric = "llava_submit";
  vqa.scores = {1.0, 0.6, 0.3, 0.0};  // 47.5
  write_fake_run(dir / "none-vqa", vqa);

  const Report report = build_report(collect_run_results({dir.string()}), ReportOptions{});
  CHECK(report.datasets == std::vector<std::string>{"gqa", "vqav2"});
  REQUIRE(report.rows.size() == 4);
  CHECK(report.rows[0].method == "none");
  CHECK(report.rows[0].is_baseline);
  CHECK(report.rows[0].cells[0].relative == 100.0);
  CHECK(report.rows[0].cells[1].relative == 100.0);
  CHECK(report.rows[1].method == "fastv:K=2");
  CHECK(report.rows[1].budget == "tokens:192");  // most expensive first
  CHECK(report.rows[2].budget == "tokens:64");
  CHECK_THAT(report.rows[2].cells[0].relative, Catch::Matchers::WithinRel(75.0, 1e-12));  // 60 / 80
  CHECK(report.rows[2].cells[1].run == nullptr);
  CHECK(report.rows[3].method == "random");
  CHECK_THAT(report.rows[3].cells[0].relative, Catch::Matchers::WithinRel(87.5, 1e-12));  // 70 / 80
  CHECK(report.rows[0].llm_prefill_flops == 8e12);

  // Frontier on gqa vs FLOPs: random@64 (2e12, 70) beats fastv@64; fastv@192 (4e12, 80) equals the
  // unpruned accuracy at half its cost, so none@8e12 is dominated.
  std::vector<std::string> flops_frontier, time_frontier;
  for (const ParetoEntry& p : report.pareto) {
    if (p.dataset != "gqa") continue;
    (p.axis == "flops" ? flops_frontier : time_frontier).push_back(p.method + "@" + p.budget);
  }
  CHECK(flops_frontier == std::vector<std::string>{"random@tokens:64", "fastv:K=2@tokens:192"});
  // By prefill time fastv@64 (40 ms, 60) is the cheapest, then random (45 ms, 70), fastv@192 (60 ms, 80).
  CHECK(time_frontier == std::vector<std::string>{"fastv:K=2@tokens:64", "random@tokens:64", "fastv:K=2@tokens:192"});

  const std::string md = report_markdown(report);
  CHECK(md.find("| tiny | none (baseline) | default | 80.00 | 100.0 | 47.50 | 100.0 | 100.0 | 576.0 | 8 T | 100.00 |") != std::string::npos);
  const std::string csv = report_csv(report);
  CHECK(csv.rfind("model,method,budget,baseline,gqa accuracy,gqa relative,vqav2 accuracy,vqav2 relative,", 0) == 0);
  CHECK(csv.find("tiny,fastv:K=2,tokens:64,0,60,75,,,75,576,2000000000000,40\n") != std::string::npos);

  const std::vector<std::string> plots = write_report_plots(report, dir.string());
  REQUIRE(plots.size() == 2);
  CHECK(fs::path(plots[0]).filename() == "accuracy_vs_flops_tiny_gqa.png");
  const cv::Mat img = cv::imread(plots[0]);
  REQUIRE(!img.empty());
  CHECK(img.cols > 1200);
  CHECK(img.rows == 760);
  // Not blank: well over 1% of the pixels carry ink.
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  CHECK(static_cast<size_t>(cv::countNonZero(gray < 200)) > img.total() / 100);

  // The same model, dataset, method and budget twice is refused.
  write_fake_run(dir / "again" / "random-64", random);
  CHECK_THROWS_WITH(build_report(collect_run_results({dir.string()}), ReportOptions{}), Catch::Contains("report them separately"));
}

}  // namespace pb::test
