// The report's plots: accuracy vs LLM-prefill FLOPs, one line per method (points labelled with
// their budget), the baseline as a dashed level; one PNG per model x dataset.
#pragma once

#include <string>
#include <vector>

#include "report/report_table.h"

namespace pb {

// Writes <out_dir>/accuracy_vs_flops_<model>_<dataset>.png for every model x dataset with data;
// returns the files written.
std::vector<std::string> write_report_plots(const Report& report, const std::string& out_dir);

}  // namespace pb
