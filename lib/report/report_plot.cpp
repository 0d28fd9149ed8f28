#include "report/report_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "report/line_plot.h"

namespace fs = std::filesystem;

namespace pb {

namespace {

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return out;
}

}  // namespace

std::vector<std::string> write_report_plots(const Report& report, const std::string& out_dir) {
  std::vector<std::string> files;
  std::vector<std::string> models;
  for (const ReportRow& row : report.rows) {
    if (std::find(models.begin(), models.end(), row.model) == models.end()) models.push_back(row.model);
  }
  for (const std::string& model : models) {
    for (size_t d = 0; d < report.datasets.size(); ++d) {
      // FLOPs in the SI unit of the largest value, so tick labels stay short.
      double max_flops = 0;
      for (const ReportRow& row : report.rows) {
        const RunResult* r = row.cells[d].run.get();
        if (row.model == model && r != nullptr) {
          const auto f = r->llm_prefill_flops.find(report.options.flops);
          if (f != r->llm_prefill_flops.end() && std::isfinite(f->second)) max_flops = std::max(max_flops, f->second);
        }
      }
      if (max_flops <= 0) continue;
      const char* units[] = {"", "K", "M", "G", "T", "P"};
      int u = 0;
      while (u < 5 && max_flops >= 1000.0) {
        max_flops /= 1000.0;
        ++u;
      }
      const double scale = std::pow(1000.0, u);
      LinePlot plot;
      plot.title = fmt::format("{} on {}: accuracy vs LLM prefill FLOPs", model, report.datasets[d]);
      plot.x_label = fmt::format("LLM prefill {}FLOPs per sample ({} convention)", units[u], report.options.flops);
      plot.y_label = "accuracy (%)";
      std::vector<std::string> methods;
      for (const ReportRow& row : report.rows) {
        if (row.model == model && std::find(methods.begin(), methods.end(), row.method) == methods.end()) {
          methods.push_back(row.method);
        }
      }
      for (const std::string& method : methods) {
        PlotSeries s;
        for (const ReportRow& row : report.rows) {
          const RunResult* r = row.cells[d].run.get();
          if (row.model != model || row.method != method || r == nullptr) continue;
          const auto f = r->llm_prefill_flops.find(report.options.flops);
          if (f == r->llm_prefill_flops.end() || !std::isfinite(f->second) || !std::isfinite(r->accuracy)) continue;
          s.reference = row.is_baseline;
          s.x.push_back(f->second / scale);
          s.y.push_back(r->accuracy);
          // "tokens:64" reads as "64" beside a point; other budgets keep their name.
          const std::string prefix = "tokens:";
          s.point_labels.push_back(row.budget.rfind(prefix, 0) == 0 ? row.budget.substr(prefix.size()) : row.budget);
        }
        if (s.x.empty()) continue;
        s.label = s.reference ? method + " (unpruned)" : method;
        if (s.reference) s.point_labels.clear();
        plot.series.push_back(std::move(s));
      }
      // The reference level first in the legend.
      std::stable_partition(plot.series.begin(), plot.series.end(), [](const PlotSeries& s) { return s.reference; });
      const std::string file =
          (fs::path(out_dir) / fmt::format("accuracy_vs_flops_{}_{}.png", file_safe(model), file_safe(report.datasets[d])))
              .string();
      write_line_plot_png(plot, file);
      files.push_back(file);
    }
  }
  return files;
}

}  // namespace pb
