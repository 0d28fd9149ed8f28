// Where each point of a sweep stands, read from its folder (nothing else is trusted):
//   done     summary.json with no pending and no failed samples
//   failed   points/<id>/error.json (the last attempt stopped with an error), or failed samples
//   pending  anything else (never started, or interrupted: the journal says how far it got)
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "sweep/sweep_plan.h"

namespace pb {

struct PointStatus {
  std::string id;
  std::string state;          // "done" | "failed" | "pending"
  std::string detail;         // the error, "3 samples failed", or "5 of 8 samples"
  int64_t samples_done = 0;   // journal records with status ok
};

std::string point_folder(const std::string& sweep_out, const std::string& id);  // <out>/points/<id>
PointStatus point_status(const std::string& sweep_out, const SweepPoint& point);
std::vector<PointStatus> sweep_status(const std::string& sweep_out, const std::vector<SweepPoint>& points);

// The plan recorded in <out>/sweep.json by `sweep` (pb::Error when the folder is not a sweep).
nlohmann::json read_sweep_record(const std::string& sweep_out);
std::vector<SweepPoint> points_from_record(const nlohmann::json& record);

}  // namespace pb
