// Where and how a run happened, recorded in every summary (google/benchmark's "context" block).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pb {

// git sha + dirty flag, prune-bench / LibTorch / OpenCV versions, CPU model, threads, host, date.
nlohmann::json run_context(const std::string& dtype, const std::string& device, const std::string& command_line);
double peak_rss_mb();  // of this process so far

}  // namespace pb
