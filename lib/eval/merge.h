// `prune-bench merge`: joins the journals of a sharded run (one or several folders) into one summary
// equal to what a single process would have produced. Refuses folders whose configurations differ.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pb {

// Writes <out>/summary.json (out defaults to the first folder) and returns it.
nlohmann::json merge_runs(const std::vector<std::string>& folders, const std::string& out);

}  // namespace pb
