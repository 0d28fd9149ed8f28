#include "report/report_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "core/error.h"
#include "flops/flops.h"
#include "report/pareto.h"

namespace pb {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  int n = 0;
  for (double x : v) {
    if (!std::isnan(x)) {
      sum += x;
      ++n;
    }
  }
  return n == 0 ? kNaN : sum / n;
}

std::string num(double v, int digits) { return std::isnan(v) ? "-" : fmt::format("{:.{}f}", v, digits); }

// FLOPs in the unit that keeps 1 to 4 digits before the point, e.g. "3.21 T".
std::string flops_text(double v) {
  if (std::isnan(v)) return "-";
  const char* units[] = {"", "K", "M", "G", "T", "P"};
  int u = 0;
  while (u < 5 && std::fabs(v) >= 1000.0) {
    v /= 1000.0;
    ++u;
  }
  return fmt::format("{:.3g} {}", v, units[u]);
}

bool is_baseline(const RunResult& r, const std::string& baseline) {
  return r.method == baseline || (r.pruner == baseline && r.method == r.pruner);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_num(double v) { return std::isnan(v) ? "" : fmt::format("{}", v); }

}  // namespace

Report build_report(const std::vector<RunResult>& runs, const ReportOptions& options) {
  flops_convention_from_name(options.flops);  // pb::Error listing the valid names
  Report report;
  report.options = options;
  std::vector<std::string> models, methods;
  auto note = [](std::vector<std::string>& list, const std::string& v) {
    if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
  };
  // Cells share the runs, so a report outlives the vector it was built from.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::shared_ptr<const RunResult>> index;
  for (const RunResult& r : runs) {
    note(models, r.model);
    note(report.datasets, r.dataset);
    note(methods, r.method);
    if (!index.emplace(std::make_tuple(r.model, r.dataset, r.method, r.budget), std::make_shared<const RunResult>(r))
             .second) {
      throw Error(fmt::format("report: {} and another folder are both model '{}', dataset '{}', method '{}', budget "
                              "'{}'; report them separately",
                              r.folder, r.model, r.dataset, r.method, r.budget));
    }
  }
  // Baseline accuracy per model x dataset: the baseline method's run (the first budget if several).
  std::map<std::pair<std::string, std::string>, double> base_acc;
  for (const RunResult& r : runs) {
    if (is_baseline(r, options.baseline)) base_acc.emplace(std::make_pair(r.model, r.dataset), r.accuracy);
  }
  for (const std::string& model : models) {
    std::vector<std::string> order = methods;  // baseline first
    std::stable_partition(order.begin(), order.end(), [&](const std::string& m) {
      return std::any_of(runs.begin(), runs.end(),
                         [&](const RunResult& r) { return r.method == m && is_baseline(r, options.baseline); });
    });
    for (const std::string& method : order) {
      std::vector<std::string> budgets;
      for (const RunResult& r : runs) {
        if (r.model == model && r.method == method) note(budgets, r.budget);
      }
      std::vector<ReportRow> rows;
      for (const std::string& budget : budgets) {
        ReportRow row;
        row.model = model;
        row.method = method;
        row.budget = budget;
        std::vector<double> rel, tokens, flops, ms;
        for (const std::string& dataset : report.datasets) {
          ReportCell cell;
          const auto it = index.find(std::make_tuple(model, dataset, method, budget));
          if (it != index.end()) {
            const RunResult& r = *it->second;
            cell.run = it->second;
            row.is_baseline = is_baseline(r, options.baseline);
            const auto base = base_acc.find({model, dataset});
            cell.relative = base == base_acc.end() || !(base->second > 0) ? kNaN : 100.0 * r.accuracy / base->second;
            rel.push_back(cell.relative);
            tokens.push_back(r.mean_visual_tokens);
            const auto f = r.llm_prefill_flops.find(options.flops);
            flops.push_back(f == r.llm_prefill_flops.end() ? kNaN : f->second);
            ms.push_back(r.prefill_ms_p50);
          } else {
            cell.relative = kNaN;
          }
          row.cells.push_back(cell);
        }
        row.mean_relative = mean_of(rel);
        row.mean_visual_tokens = mean_of(tokens);
        row.llm_prefill_flops = mean_of(flops);
        row.prefill_ms_p50 = mean_of(ms);
        rows.push_back(std::move(row));
      }
      // Budgets from the most to the least expensive (NaN last).
      std::stable_sort(rows.begin(), rows.end(), [](const ReportRow& a, const ReportRow& b) {
        if (std::isnan(a.llm_prefill_flops) || std::isnan(b.llm_prefill_flops)) return !std::isnan(a.llm_prefill_flops) && std::isnan(b.llm_prefill_flops);
        return a.llm_prefill_flops > b.llm_prefill_flops;
      });
      for (ReportRow& row : rows) report.rows.push_back(std::move(row));
    }
  }
  // Frontiers per model x dataset, over every run of it (baseline included).
  for (const std::string& model : models) {
    for (const std::string& dataset : report.datasets) {
      std::vector<const RunResult*> members;
      for (const RunResult& r : runs) {
        if (r.model == model && r.dataset == dataset) members.push_back(&r);
      }
      for (const char* axis : {"flops", "prefill_ms"}) {
        std::vector<CostAccuracy> pts;
        for (const RunResult* r : members) {
          const auto f = r->llm_prefill_flops.find(options.flops);
          const double cost = std::string(axis) == "flops" ? (f == r->llm_prefill_flops.end() ? kNaN : f->second)
                                                           : r->prefill_ms_p50;
          pts.push_back({cost, r->accuracy});
        }
        for (size_t i : pareto_frontier(pts)) {
          report.pareto.push_back({model, dataset, axis, members[i]->method, members[i]->budget, pts[i].cost,
                                   pts[i].accuracy});
        }
      }
    }
  }
  return report;
}

std::string report_markdown(const Report& report) {
  std::string md = "# prune-bench report\n\n";
  md += fmt::format("Accuracy x100 per dataset; \"rel\" is % of the `{}` run on the same model and dataset. "
                    "Visual tokens, LLM-prefill FLOPs (`{}` convention, mean per sample) and measured prefill time "
                    "(median per sample) are means over the row's datasets.\n\n",
                    report.options.baseline, report.options.flops);
  std::string head = "| model | method | budget |", rule = "|---|---|---|";
  for (const std::string& d : report.datasets) {
    head += fmt::format(" {} | {} rel % |", d, d);
    rule += "---:|---:|";
  }
  if (report.datasets.size() > 1) {
    head += " avg rel % |";
    rule += "---:|";
  }
  head += fmt::format(" visual tokens | FLOPs ({}) | prefill ms | notes |", report.options.flops);
  rule += "---:|---:|---:|---|";
  md += head + "\n" + rule + "\n";
  for (const ReportRow& row : report.rows) {
    std::string line = fmt::format("| {} | {}{} | {} |", row.model, row.method, row.is_baseline ? " (baseline)" : "",
                                   row.budget);
    std::string notes;
    for (const ReportCell& c : row.cells) {
      if (c.run == nullptr) {
        line += " - | - |";
        continue;
      }
      line += fmt::format(" {} | {} |", num(c.run->accuracy, 2), num(c.relative, 1));
      if (c.run->failed > 0 || c.run->pending > 0) {
        notes += fmt::format("{}: {} failed, {} pending of {}; ", c.run->dataset, c.run->failed, c.run->pending,
                             c.run->total);
      }
    }
    if (report.datasets.size() > 1) line += fmt::format(" {} |", num(row.mean_relative, 1));
    line += fmt::format(" {} | {} | {} | {} |", num(row.mean_visual_tokens, 1), flops_text(row.llm_prefill_flops),
                        num(row.prefill_ms_p50, 2), notes);
    md += line + "\n";
  }
  md += "\n## Pareto frontiers\n\nPoints no other run of the same model and dataset beats on both accuracy and cost.\n\n";
  md += "| model | dataset | cost | method | budget | cost value | accuracy |\n|---|---|---|---|---|---:|---:|\n";
  for (const ParetoEntry& p : report.pareto) {
    const bool flops = p.axis == "flops";
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", p.model, p.dataset,
                      flops ? "FLOPs (" + report.options.flops + ")" : std::string("prefill ms"), p.method, p.budget,
                      flops ? flops_text(p.cost) : num(p.cost, 2), num(p.accuracy, 2));
  }
  return md;
}

std::string report_csv(const Report& report) {
  std::string csv = "model,method,budget,baseline";
  for (const std::string& d : report.datasets) csv += "," + csv_field(d + " accuracy") + "," + csv_field(d + " relative");
  csv += ",mean_relative,mean_visual_tokens,llm_prefill_flops_" + report.options.flops + ",prefill_ms_p50\n";
  for (const ReportRow& row : report.rows) {
    csv += fmt::format("{},{},{},{}", csv_field(row.model), csv_field(row.method), csv_field(row.budget),
                       row.is_baseline ? 1 : 0);
    for (const ReportCell& c : row.cells) {
      csv += "," + (c.run ? csv_num(c.run->accuracy) : "") + "," + (c.run ? csv_num(c.relative) : "");
    }
    csv += fmt::format(",{},{},{},{}\n", csv_num(row.mean_relative), csv_num(row.mean_visual_tokens),
                       csv_num(row.llm_prefill_flops), csv_num(row.prefill_ms_p50));
  }
  return csv;
}

std::string pareto_csv(const Report& report) {
  std::string csv = "model,dataset,axis,method,budget,cost,accuracy\n";
  for (const ParetoEntry& p : report.pareto) {
    csv += fmt::format("{},{},{},{},{},{},{}\n", csv_field(p.model), csv_field(p.dataset), p.axis,
                       csv_field(p.method), csv_field(p.budget), csv_num(p.cost), csv_num(p.accuracy));
  }
  return csv;
}

}  // namespace pb
