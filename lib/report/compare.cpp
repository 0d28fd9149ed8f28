#include "report/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "eval/journal.h"
#include "eval/summary.h"
#include "metrics/paired_tests.h"
#include "report/run_results.h"

namespace pb {

namespace {

struct Scored {
  double score;
  nlohmann::json record;
};

// Latest record per key with a score (failed and unscored samples are not comparable).
std::map<std::string, Scored> scored_records(const std::string& folder, int64_t* failed) {
  std::map<std::string, Scored> out;
  for (const nlohmann::json& r : latest_records(read_run_journals(folder))) {
    if (r.value("status", "") != "ok") {
      ++*failed;
      continue;
    }
    if (r.contains("score") && r["score"].is_number()) out[r.at("key").get<std::string>()] = {r["score"].get<double>(), r};
  }
  return out;
}

nlohmann::json change(double base, double cand) {
  const bool ok = std::isfinite(base) && std::isfinite(cand);
  return {{"base", std::isfinite(base) ? nlohmann::json(base) : nlohmann::json()},
          {"candidate", std::isfinite(cand) ? nlohmann::json(cand) : nlohmann::json()},
          {"change_percent", ok && base != 0 ? nlohmann::json(100.0 * (cand - base) / base) : nlohmann::json()}};
}

nlohmann::json flip_entry(const std::string& key, const Scored& b, const Scored& c) {
  return {{"key", key},
          {"question_id", b.record.value("question_id", nlohmann::json())},
          {"base_answer", b.record.value("answer_raw", "")},
          {"candidate_answer", c.record.value("answer_raw", "")},
          {"base_score", b.score},
          {"candidate_score", c.score}};
}

std::string fixed(const nlohmann::json& v, int digits) {
  return v.is_number() ? fmt::format("{:.{}f}", v.get<double>(), digits) : std::string("-");
}

// A table cell: '|' and line breaks would end the cell or the row.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

std::string p_text(double p) { return p > 0 && p < 1e-4 ? fmt::format("{:.2e}", p) : fmt::format("{:.4f}", p); }

}  // namespace

bool binary_metric(const std::string& metric) { return metric.rfind("gqa_", 0) == 0; }

nlohmann::json compare_runs(const std::string& base_folder, const std::string& cand_folder, const CompareOptions& o) {
  const RunResult base = read_run_result(base_folder);
  const RunResult cand = read_run_result(cand_folder);
  if (base.metric != cand.metric) {
    throw Error(fmt::format("compare: {} is scored with '{}' but {} with '{}'; the scores are not comparable",
                            base_folder, base.metric, cand_folder, cand.metric));
  }
  int64_t base_failed = 0, cand_failed = 0;
  const std::map<std::string, Scored> b = scored_records(base_folder, &base_failed);
  const std::map<std::string, Scored> c = scored_records(cand_folder, &cand_failed);
  std::vector<double> bs, cs;
  std::vector<std::pair<std::string, double>> lost, gained;  // key, |difference|
  int64_t only_base = 0;
  for (const auto& [key, s] : b) {
    const auto it = c.find(key);
    if (it == c.end()) {
      ++only_base;
      continue;
    }
    bs.push_back(s.score);
    cs.push_back(it->second.score);
    const double d = it->second.score - s.score;
    if (d < 0) lost.emplace_back(key, -d);
    if (d > 0) gained.emplace_back(key, d);
  }
  const int64_t only_cand = static_cast<int64_t>(c.size()) - static_cast<int64_t>(bs.size());
  if (bs.empty()) {
    throw Error(fmt::format("compare: no sample is scored in both {} and {} (different datasets?)", base_folder,
                            cand_folder));
  }
  const double n = static_cast<double>(bs.size());
  double sb = 0, sc = 0;
  for (size_t i = 0; i < bs.size(); ++i) {
    sb += bs[i];
    sc += cs[i];
  }
  const double acc_base = 100.0 * sb / n, acc_cand = 100.0 * sc / n;
  const double drop = acc_base - acc_cand;

  nlohmann::json test;
  double p = 1.0;
  if (binary_metric(base.metric)) {
    const int64_t losses = static_cast<int64_t>(lost.size()), gains = static_cast<int64_t>(gained.size());
    p = mcnemar_exact_one_sided(losses, gains);
    test = {{"name", "mcnemar_exact"},
            {"direction", "one-sided: candidate worse; p = P(X >= losses), X ~ Binomial(losses + gains, 1/2)"},
            {"losses", losses},
            {"gains", gains},
            {"p_value", p}};
  } else {
    const PairedBootstrap pb = paired_bootstrap_one_sided(bs, cs, o.resamples, o.seed);
    p = pb.p_value;
    test = {{"name", "paired_bootstrap"},
            {"direction", "one-sided: candidate worse; p = share of resamples whose mean difference is >= 0"},
            {"resamples", pb.resamples},
            {"seed", pb.seed},
            {"difference_ci95", {100.0 * pb.ci_low, 100.0 * pb.ci_high}},
            {"p_value", p}};
  }
  const bool regression = p < o.alpha && drop > o.max_drop;

  // Largest score changes first, then key order.
  auto top = [&](std::vector<std::pair<std::string, double>> v) {
    std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < v.size() && static_cast<int>(i) < o.top; ++i) {
      out.push_back(flip_entry(v[i].first, b.at(v[i].first), c.at(v[i].first)));
    }
    return out;
  };
  nlohmann::json flops = nlohmann::json::object();
  for (const auto& [conv, value] : base.llm_prefill_flops) {
    const auto it = cand.llm_prefill_flops.find(conv);
    flops[conv] = change(value, it == cand.llm_prefill_flops.end() ? NAN : it->second);
  }
  return {
      {"base", {{"folder", base_folder}, {"config_hash", base.summary.value("config_hash", "")},
                {"method", base.method}, {"budget", base.budget}, {"failed_samples", base_failed}}},
      {"candidate", {{"folder", cand_folder}, {"config_hash", cand.summary.value("config_hash", "")},
                     {"method", cand.method}, {"budget", cand.budget}, {"failed_samples", cand_failed}}},
      {"metric", base.metric},
      {"paired_samples", bs.size()},
      {"only_in_base", only_base},
      {"only_in_candidate", only_cand},
      {"accuracy", {{"base", acc_base}, {"candidate", acc_cand}, {"difference", acc_cand - acc_base}}},
      {"test", test},
      {"alpha", o.alpha},
      {"max_drop", o.max_drop},
      {"flips", {{"lost", lost.size()}, {"gained", gained.size()},
                 {"unchanged", bs.size() - lost.size() - gained.size()}}},
      {"top_lost", top(lost)},
      {"top_gained", top(gained)},
      {"efficiency", {{"mean_visual_tokens", change(base.mean_visual_tokens, cand.mean_visual_tokens)},
                      {"llm_prefill_flops", flops},
                      {"prefill_ms_p50", change(base.prefill_ms_p50, cand.prefill_ms_p50)}}},
      {"regression", regression},
  };
}

std::string compare_markdown(const nlohmann::json& r) {
  const nlohmann::json& acc = r["accuracy"];
  const nlohmann::json& test = r["test"];
  std::string md = fmt::format("# compare: {}\n\n", r["regression"].get<bool>() ? "REGRESSION" : "no regression");
  md += fmt::format("- base: `{}` ({} {})\n- candidate: `{}` ({} {})\n", r["base"]["folder"].get<std::string>(),
                    r["base"]["method"].get<std::string>(), r["base"]["budget"].get<std::string>(),
                    r["candidate"]["folder"].get<std::string>(), r["candidate"]["method"].get<std::string>(),
                    r["candidate"]["budget"].get<std::string>());
  md += fmt::format("- metric `{}`, {} paired samples ({} only in base, {} only in candidate; failed: {} base, {} "
                    "candidate)\n",
                    r["metric"].get<std::string>(), r["paired_samples"].get<int64_t>(), r["only_in_base"].get<int64_t>(),
                    r["only_in_candidate"].get<int64_t>(), r["base"]["failed_samples"].get<int64_t>(),
                    r["candidate"]["failed_samples"].get<int64_t>());
  md += fmt::format("- accuracy: base {:.2f}, candidate {:.2f}, difference {:+.2f} points\n",
                    acc["base"].get<double>(), acc["candidate"].get<double>(), acc["difference"].get<double>());
  if (test["name"] == "mcnemar_exact") {
    md += fmt::format("- exact McNemar, one-sided (candidate worse): {} lost, {} gained, p = {}\n",
                      test["losses"].get<int64_t>(), test["gains"].get<int64_t>(), p_text(test["p_value"].get<double>()));
  } else {
    const int resamples = test["resamples"].get<int>();
    const double p = test["p_value"].get<double>();
    md += fmt::format("- paired bootstrap ({} resamples, seed {}), one-sided (candidate worse): p = {} ({} resamples "
                      "not worse), 95% CI of the difference [{:+.2f}, {:+.2f}] points\n",
                      resamples, test["seed"].get<uint64_t>(), p_text(p), std::lround(p * resamples),
                      test["difference_ci95"][0].get<double>(), test["difference_ci95"][1].get<double>());
  }
  md += fmt::format("- regression rule: p < {} and a drop of more than {} points -> **{}**\n\n",
                    r["alpha"].get<double>(), r["max_drop"].get<double>(), r["regression"].get<bool>() ? "regression" : "no regression");
  md += fmt::format("Flips: {} lost, {} gained, {} unchanged.\n\n", r["flips"]["lost"].get<int64_t>(),
                    r["flips"]["gained"].get<int64_t>(), r["flips"]["unchanged"].get<int64_t>());
  for (const char* side : {"top_lost", "top_gained"}) {
    if (r[side].empty()) continue;
    md += fmt::format("### {}\n\n| key | question id | base answer | candidate answer | base | candidate |\n"
                      "|---|---|---|---|---:|---:|\n",
                      std::string(side) == "top_lost" ? "Lost (base right, candidate worse)" : "Gained");
    for (const nlohmann::json& f : r[side]) {
      md += fmt::format("| {} | {} | {} | {} | {:.2f} | {:.2f} |\n", f["key"].get<std::string>(),
                        f["question_id"].is_string() ? f["question_id"].get<std::string>() : f["question_id"].dump(),
                        cell(f["base_answer"].get<std::string>()), cell(f["candidate_answer"].get<std::string>()),
                        f["base_score"].get<double>(), f["candidate_score"].get<double>());
    }
    md += "\n";
  }
  const nlohmann::json& eff = r["efficiency"];
  md += "| efficiency | base | candidate | change |\n|---|---:|---:|---:|\n";
  auto row = [&](const std::string& name, const nlohmann::json& c, int digits) {
    md += fmt::format("| {} | {} | {} | {}% |\n", name, fixed(c["base"], digits), fixed(c["candidate"], digits),
                      fixed(c["change_percent"], 1));
  };
  row("mean visual tokens", eff["mean_visual_tokens"], 1);
  for (const auto& item : eff["llm_prefill_flops"].items()) {
    const nlohmann::json& c = item.value();
    md += fmt::format("| LLM prefill FLOPs ({}) | {} | {} | {}% |\n", item.key(),
                      c["base"].is_number() ? fmt::format("{:.4g}", c["base"].get<double>()) : "-",
                      c["candidate"].is_number() ? fmt::format("{:.4g}", c["candidate"].get<double>()) : "-",
                      fixed(c["change_percent"], 1));
  }
  row("prefill ms (p50)", eff["prefill_ms_p50"], 2);
  return md;
}

}  // namespace pb
