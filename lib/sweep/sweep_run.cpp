#include "sweep/sweep_run.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "eval/runner.h"
#include "io/atomic_file.h"

namespace fs = std::filesystem;

namespace pb {

namespace {

nlohmann::json plan_record(const SweepPlan& plan) {
  nlohmann::json points = nlohmann::json::array();
  for (const SweepPoint& p : plan.points) points.push_back(point_to_json(p));
  return {{"schema_version", 1}, {"name", plan.name}, {"plan_hash", plan.hash}, {"points", points}};
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

SweepRunResult run_sweep(const SweepPlan& plan, const SweepRunOptions& so) {
  fs::create_directories(so.out);
  // Every shard writes the same plan; the rename makes concurrent writers harmless.
  write_file_atomic((fs::path(so.out) / "sweep.json").string(), plan_record(plan).dump(2) + "\n");
  const std::vector<SweepPoint> mine = shard_points(plan.points, so.shard_index, so.shard_count);
  SweepRunResult result;
  ModelCache models;
  for (size_t i = 0; i < mine.size(); ++i) {
    const SweepPoint& point = mine[i];
    const PointStatus before = point_status(so.out, point);
    if (before.state == "done") {
      ++result.skipped;
      fmt::print("sweep: [{}/{}] {} done, skipped\n", i + 1, mine.size(), point.id);
      continue;
    }
    fmt::print("sweep: [{}/{}] {} ...\n", i + 1, mine.size(), point.id);
    std::fflush(stdout);
    const fs::path dir = point_folder(so.out, point.id);
    fs::create_directories(dir);
    write_file_atomic((dir / "point.json").string(), point_to_json(point).dump(2) + "\n");
    fs::remove(dir / "error.json");
    RunOptions o = point.options;
    o.out = dir.string();
    o.quiet = so.quiet;
    o.log_every = so.log_every;
    o.command_line = so.command_line;
    try {
      run_evaluation(o, &models);
      ++result.ran;
    } catch (const std::exception& e) {  // pb::Error, c10::Error, I/O: record and go on
      std::string what = e.what();
      what = what.substr(0, what.find('\n'));
      write_file_atomic((dir / "error.json").string(),
                        nlohmann::json{{"error", what}, {"time", utc_now()}}.dump(2) + "\n");
      fmt::print("sweep: {} failed: {}\n", point.id, what);
    }
    const PointStatus after = point_status(so.out, point);
    if (after.state == "failed") ++result.failed;
    result.points.push_back(after);
  }
  result.model_loads = models.loads();
  return result;
}

std::vector<PointStatus> merge_sweeps(const std::vector<std::string>& folders, const std::string& out) {
  if (folders.empty()) throw Error("merge: no sweep folders given");
  const nlohmann::json record = read_sweep_record(folders.front());
  for (const std::string& f : folders) {
    const nlohmann::json other = read_sweep_record(f);
    if (other.value("plan_hash", "") != record.value("plan_hash", "")) {
      throw Error(fmt::format("{}: sweep plan {} differs from {} ({}); refusing to merge different sweeps", f,
                              other.value("plan_hash", "?"), record.value("plan_hash", "?"), folders.front()));
    }
  }
  const std::string dest = out.empty() ? folders.front() : out;
  fs::create_directories(dest);
  const std::vector<SweepPoint> points = points_from_record(record);
  for (const SweepPoint& p : points) {
    if (point_status(dest, p).state == "done") continue;
    for (const std::string& f : folders) {
      if (fs::equivalent(fs::path(f), fs::path(dest)) || point_status(f, p).state != "done") continue;
      const fs::path target = point_folder(dest, p.id);
      fs::remove_all(target);
      fs::create_directories(target.parent_path());
      fs::copy(point_folder(f, p.id), target, fs::copy_options::recursive);
      break;
    }
  }
  write_file_atomic((fs::path(dest) / "sweep.json").string(), record.dump(2) + "\n");
  return sweep_status(dest, points);
}

}  // namespace pb
