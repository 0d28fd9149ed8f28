#include "sweep/sweep_status.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/error.h"
#include "eval/journal.h"
#include "io/json_file.h"

namespace fs = std::filesystem;

namespace pb {

std::string point_folder(const std::string& sweep_out, const std::string& id) {
  return (fs::path(sweep_out) / "points" / id).string();
}

PointStatus point_status(const std::string& sweep_out, const SweepPoint& point) {
  PointStatus st{point.id, "pending", "", 0};
  const fs::path dir = point_folder(sweep_out, point.id);
  for (const nlohmann::json& r : read_run_journals(dir.string())) {
    if (r.value("status", "") == "ok") ++st.samples_done;
  }
  if (fs::exists(dir / "error.json")) {
    st.state = "failed";
    st.detail = read_json_file((dir / "error.json").string()).value("error", "");
    return st;
  }
  if (fs::exists(dir / "summary.json")) {
    const nlohmann::json counts = read_json_file((dir / "summary.json").string()).at("counts");
    const int64_t failed = counts.at("failed").get<int64_t>(), pending = counts.at("pending").get<int64_t>();
    if (failed > 0) {
      st.state = "failed";
      st.detail = fmt::format("{} of {} samples failed", failed, counts.at("total").get<int64_t>());
    } else if (pending == 0) {
      st.state = "done";
      st.detail = fmt::format("{} samples", counts.at("total").get<int64_t>());
    }
    return st;
  }
  if (st.samples_done > 0) st.detail = fmt::format("{} samples done (interrupted)", st.samples_done);
  return st;
}

std::vector<PointStatus> sweep_status(const std::string& sweep_out, const std::vector<SweepPoint>& points) {
  std::vector<PointStatus> out;
  for (const SweepPoint& p : points) out.push_back(point_status(sweep_out, p));
  return out;
}

nlohmann::json read_sweep_record(const std::string& sweep_out) {
  const fs::path file = fs::path(sweep_out) / "sweep.json";
  if (!fs::exists(file)) throw Error(fmt::format("{}: not a sweep folder (no sweep.json)", sweep_out));
  return read_json_file(file.string());
}

std::vector<SweepPoint> points_from_record(const nlohmann::json& record) {
  std::vector<SweepPoint> out;
  for (const nlohmann::json& p : record.at("points")) {
    SweepPoint pt;
    pt.id = p.at("id").get<std::string>();
    pt.labels = p.at("labels");
    const nlohmann::json& r = p.at("run");
    RunOptions& o = pt.options;
    o.model = r.at("model");
    o.random_weights = r.at("random_weights");
    o.weights_seed = r.at("seed");
    o.tokenizer = r.at("tokenizer");
    o.dataset = r.at("dataset");
    o.pruner = r.at("pruner");
    o.budget = r.at("budget");
    o.protocol = r.at("protocol");
    o.limit = r.at("limit");
    o.subset = r.at("subset");
    o.subset_seed = r.at("subset_seed");
    o.max_new_tokens = r.at("max_new_tokens");
    o.dtype = r.at("dtype");
    o.device = r.at("device");
    out.push_back(std::move(pt));
  }
  return out;
}

}  // namespace pb
