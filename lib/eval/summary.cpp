#include "eval/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "flops/flops.h"
#include "flops/visual_tokens.h"
#include "metrics/answer_metrics.h"

namespace pb {

namespace {

// Stages timed per sample, in pipeline order (journal field times_ms).
const char* const kStages[] = {"preprocess", "vision", "projector", "prefill", "decode", "prune"};

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

nlohmann::json accuracy_json(const std::vector<double>& scores) {
  const ConfidenceInterval ci = bootstrap_mean_ci(scores, 0.95, 1000, 0);
  return {{"n", scores.size()}, {"accuracy", 100.0 * ci.mean}, {"ci95", {100.0 * ci.low, 100.0 * ci.high}}};
}

std::vector<LayerTokens> schedule_of(const nlohmann::json& record) {
  std::vector<LayerTokens> schedule;
  const nlohmann::json& in = record.at("visual_tokens_per_layer");
  const nlohmann::json after = record.value("visual_tokens_after_attn", nlohmann::json::array());
  for (size_t l = 0; l < in.size(); ++l) {
    const int64_t n = in[l].get<int64_t>();
    schedule.push_back({n, after.size() == in.size() ? after[l].get<int64_t>() : n});
  }
  return schedule;
}

}  // namespace

std::vector<nlohmann::json> latest_records(const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> out;
  std::unordered_map<std::string, size_t> position;
  for (const nlohmann::json& r : records) {
    const std::string key = r.at("key").get<std::string>();
    const auto found = position.find(key);
    if (found == position.end()) {
      position.emplace(key, out.size());
      out.push_back(r);
    } else {
      out[found->second] = r;
    }
  }
  // Key order, so a sharded run merged in any order summarises (bootstrap included) exactly like one process.
  std::sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.at("key").get_ref<const std::string&>() < b.at("key").get_ref<const std::string&>();
  });
  return out;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

nlohmann::json summarize(const std::vector<nlohmann::json>& all_records, const SummaryInputs& inputs) {
  const std::vector<nlohmann::json> records = latest_records(all_records);
  std::vector<double> scores, visual_in, text_tokens, new_tokens, rss, crops;
  std::map<std::string, std::map<std::string, std::vector<double>>> groups;  // field -> value -> scores
  std::map<std::string, std::vector<double>> stage_ms;
  std::map<std::string, std::vector<double>> llm_flops;  // convention -> per sample
  nlohmann::json failures = nlohmann::json::array();
  int64_t ok = 0, failed = 0, unscored = 0;
  for (const nlohmann::json& r : records) {
    if (r.at("status") != "ok") {
      ++failed;
      failures.push_back({{"key", r.at("key")}, {"error", r.value("error", "")}});
      continue;
    }
    ++ok;
    if (r.at("score").is_null()) {
      ++unscored;
    } else {
      const double s = r.at("score").get<double>();
      scores.push_back(s);
      if (r.contains("groups")) {
        for (const auto& item : r["groups"].items()) groups[item.key()][item.value().get<std::string>()].push_back(s);
      }
    }
    const nlohmann::json& layers = r.at("visual_tokens_per_layer");
    if (!layers.empty()) visual_in.push_back(layers[0].get<double>());
    text_tokens.push_back(r.at("text_tokens").get<double>());
    new_tokens.push_back(r.at("new_tokens").get<double>());
    rss.push_back(r.value("peak_rss_mb", 0.0));
    if (r.contains("vision_crops")) crops.push_back(r.at("vision_crops").get<double>());
    for (const char* stage : kStages) {
      stage_ms[stage].push_back(r.at("times_ms").value(stage, 0.0));
    }
    if (inputs.model != nullptr) {
      const std::vector<LayerTokens> schedule = schedule_of(r);
      for (FlopsConvention c : all_flops_conventions()) {
        llm_flops[flops_convention_name(c)].push_back(
            llm_prefill_flops(*inputs.model, r.at("text_tokens").get<int64_t>(), schedule, c));
      }
    }
  }

  nlohmann::json breakdowns = nlohmann::json::object();
  for (const auto& [field, by_value] : groups) {
    for (const auto& [value, s] : by_value) breakdowns[field][value] = accuracy_json(s);
  }
  nlohmann::json latency = nlohmann::json::object();
  for (const auto& [stage, v] : stage_ms) {
    latency[stage] = {{"p50", percentile(v, 50)}, {"p90", percentile(v, 90)}, {"mean", mean(v)}};
  }
  nlohmann::json flops = nlohmann::json::object();
  for (const auto& [convention, v] : llm_flops) flops[convention] = {{"llm_prefill_mean", mean(v)}};
  if (inputs.model != nullptr && !text_tokens.empty()) {
    const FlopsBreakdown full = exact_flops(*inputs.model, 0, static_cast<int64_t>(mean(visual_in)));
    // exact_flops counts the config's largest tile count; LLaVA-NeXT records carry each image's own
    // (vision_crops), and both stages are linear in it.
    const double crop_scale = crops.empty() ? 1.0 : mean(crops) / static_cast<double>(vision_crops(*inputs.model));
    flops["exact"]["vision"] = full.vision * crop_scale;
    flops["exact"]["projector"] = full.projector * crop_scale;
  }
  const int64_t done = ok + failed;
  const nlohmann::json run = inputs.run.is_object() ? inputs.run : nlohmann::json::object();
  // Built key by key: GCC 12 reports false maybe-uninitialized warnings on large nested
  // nlohmann initializer lists.
  nlohmann::json counts;
  counts["total"] = inputs.total_samples;
  counts["done"] = done;
  counts["ok"] = ok;
  counts["scored"] = static_cast<int64_t>(scores.size());
  counts["unscored"] = unscored;
  counts["failed"] = failed;
  counts["pending"] = inputs.total_samples - done;
  nlohmann::json metrics;
  metrics["metric"] = run.value("metric", "");
  metrics["overall"] = accuracy_json(scores);
  metrics["breakdowns"] = breakdowns;
  nlohmann::json efficiency;
  efficiency["mean_visual_tokens"] = mean(visual_in);
  efficiency["mean_text_tokens"] = mean(text_tokens);
  efficiency["mean_new_tokens"] = mean(new_tokens);
  efficiency["flops"] = flops;
  efficiency["latency_ms"] = latency;
  efficiency["peak_rss_mb"] = rss.empty() ? 0.0 : *std::max_element(rss.begin(), rss.end());
  nlohmann::json out;
  out["schema_version"] = kSummarySchemaVersion;
  out["config_hash"] = run.value("config_hash", "");
  out["config"] = run.value("config", nlohmann::json::object());
  out["protocol"] = run.value("protocol", nlohmann::json::object());
  out["context"] = inputs.context;
  out["counts"] = counts;
  out["metrics"] = metrics;
  out["efficiency"] = efficiency;
  out["failures"] = failures;
  return out;
}

}  // namespace pb
