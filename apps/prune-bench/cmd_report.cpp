// `prune-bench report DIR...`: tables (Markdown + CSV), Pareto frontiers and accuracy-vs-FLOPs
// plots over finished runs and sweeps; see report/report_table.h, docs/sweeps.md.
#include <fmt/core.h>

#include <filesystem>
#include <memory>

#include "command.h"
#include "io/atomic_file.h"
#include "report/report_plot.h"
#include "report/report_table.h"

namespace pb::app {

void setup_report(CLI::App& app) {
  auto folders = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand("report", "Tables, Pareto frontiers and plots over runs and sweeps");
  cmd->add_option("folders", *folders, "Run or sweep folders (searched recursively for finished runs)")->required();
  cmd->add_option("--baseline", o->baseline, "Method whose runs are the unpruned reference")->capture_default_str();
  cmd->add_option("--flops", o->flops, "FLOPs convention of the FLOPs column and plot")
      ->check(CLI::IsMember({"exact", "fastv", "fitprune"}))
      ->capture_default_str();
  cmd->add_option("--out", *out, "Folder for report.md, report.csv, pareto.csv and the PNGs (default: the first folder)");
  cmd->callback([folders, out, o] {
    const std::vector<RunResult> runs = collect_run_results(*folders);
    const Report report = build_report(runs, *o);
    const std::filesystem::path dest = out->empty() ? std::filesystem::path(folders->front()) : std::filesystem::path(*out);
    std::filesystem::create_directories(dest);
    const std::string md = report_markdown(report);
    write_file_atomic((dest / "report.md").string(), md);
    write_file_atomic((dest / "report.csv").string(), report_csv(report));
    write_file_atomic((dest / "pareto.csv").string(), pareto_csv(report));
    const std::vector<std::string> plots = write_report_plots(report, dest.string());
    fmt::print("{}\n", md);
    fmt::print("report: {} runs, {} rows -> {}/report.md, report.csv, pareto.csv and {} plot(s)\n", runs.size(),
               report.rows.size(), dest.string(), plots.size());
  });
}

}  // namespace pb::app
