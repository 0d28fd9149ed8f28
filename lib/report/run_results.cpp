#include "report/run_results.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "io/json_file.h"

namespace fs = std::filesystem;

namespace pb {

namespace {

double number_or_nan(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// "tokens:64", "keep:0.25", ... from the recorded Budget JSON (pruners/budget.h).
std::string budget_label(const nlohmann::json& b) {
  const std::string kind = b.value("kind", "default");
  if (kind == "tokens") return fmt::format("tokens:{}", b.value("tokens", 0));
  if (kind == "keep") return fmt::format("keep:{}", b.value("ratio", 0.0));
  if (kind == "flops") return fmt::format("flops:{}@{}", b.value("fraction_removed", 0.0), b.value("convention", ""));
  if (kind == "schedule") return "schedule:" + fs::path(b.value("file", "")).filename().string();
  return "default";
}

std::string model_label(const std::string& path) {
  const fs::path p(path);
  if (p.extension() == ".json") return p.stem().string();
  return p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
}

}  // namespace

RunResult read_run_result(const std::string& folder) {
  const fs::path dir(folder);
  if (!fs::exists(dir / "summary.json")) {
    throw Error(fmt::format("{}: no summary.json (an unfinished run, or a sharded one that needs `merge`)", folder));
  }
  RunResult r;
  r.folder = folder;
  r.summary = read_json_file((dir / "summary.json").string());
  const nlohmann::json& s = r.summary;
  const nlohmann::json& cfg = s.at("config");
  r.pruner = cfg.at("pruner").value("name", "");
  r.metric = s.at("metrics").value("metric", "");
  r.model = model_label(cfg.at("model").value("path", ""));
  r.dataset = cfg.at("dataset").value("kind", "");
  r.method = cfg.at("pruner").value("spec", "");
  r.budget = budget_label(cfg.at("pruner").value("budget", nlohmann::json::object()));
  if (fs::exists(dir / "point.json")) {
    const nlohmann::json labels = read_json_file((dir / "point.json").string()).at("labels");
    r.model = labels.at("model");
    r.dataset = labels.at("dataset");
    r.method = labels.at("pruner");
    r.budget = labels.at("budget");
  }
  r.accuracy = number_or_nan(s.at("metrics").at("overall").value("accuracy", nlohmann::json()));
  const nlohmann::json& eff = s.at("efficiency");
  r.mean_visual_tokens = number_or_nan(eff.value("mean_visual_tokens", nlohmann::json()));
  r.prefill_ms_p50 = std::numeric_limits<double>::quiet_NaN();
  if (eff.contains("latency_ms") && eff["latency_ms"].contains("prefill")) {
    r.prefill_ms_p50 = number_or_nan(eff["latency_ms"]["prefill"].value("p50", nlohmann::json()));
  }
  if (eff.contains("flops")) {
    for (const auto& item : eff["flops"].items()) {
      r.llm_prefill_flops[item.key()] = number_or_nan(item.value().value("llm_prefill_mean", nlohmann::json()));
    }
  }
  const nlohmann::json& counts = s.at("counts");
  r.total = counts.value("total", int64_t{0});
  r.failed = counts.value("failed", int64_t{0});
  r.pending = counts.value("pending", int64_t{0});
  return r;
}

std::vector<RunResult> collect_run_results(const std::vector<std::string>& paths) {
  std::vector<RunResult> out;
  for (const std::string& path : paths) {
    if (!fs::is_directory(path)) throw Error(fmt::format("{}: not a folder", path));
    std::vector<fs::path> runs;
    if (fs::exists(fs::path(path) / "summary.json")) runs.push_back(path);
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_directory() && fs::exists(entry.path() / "summary.json") && fs::exists(entry.path() / "run.json")) {
        runs.push_back(entry.path());
      }
    }
    std::sort(runs.begin(), runs.end());
    runs.erase(std::unique(runs.begin(), runs.end()), runs.end());
    if (runs.empty()) throw Error(fmt::format("{}: no finished runs (no summary.json below it)", path));
    for (const fs::path& r : runs) out.push_back(read_run_result(r.string()));
  }
  return out;
}

}  // namespace pb
