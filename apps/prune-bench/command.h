// One subcommand of the prune-bench executable: setup() declares its options on CLI11, and the
// callback it installs runs it. Commands throw pb::Error; main() turns that into `error: ...`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace pb::app {

// The command line as typed (set by main), recorded in results.
std::string& invocation();
// The exit status of a command that finished without an error (0 unless it sets one: `compare`
// sets 3 for a regression).
int& exit_status();

void setup_generate(CLI::App& app);
void setup_trace(CLI::App& app);
void setup_preprocess(CLI::App& app);
void setup_tokenize(CLI::App& app);
void setup_flops(CLI::App& app);
void setup_run(CLI::App& app);
void setup_calibrate(CLI::App& app);
void setup_merge(CLI::App& app);
void setup_score(CLI::App& app);
void setup_list(CLI::App& app);
void setup_synth(CLI::App& app);
void setup_train_synth(CLI::App& app);
void setup_sweep(CLI::App& app);
void setup_report(CLI::App& app);
void setup_compare(CLI::App& app);
void setup_convert(CLI::App& app);

}  // namespace pb::app
