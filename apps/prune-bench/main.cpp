// prune-bench: the command-line entry point. The one place that catches errors and picks exit codes:
// 0 success, 1 error (bad input, I/O, model), 2 command-line misuse, 3 regression (`compare`).
#include <fmt/core.h>

#include <cstdio>
#include <exception>

#include "command.h"
#include "core/error.h"

namespace pb::app {
std::string& invocation() {
  static std::string text;
  return text;
}
int& exit_status() {
  static int status = 0;
  return status;
}
}  // namespace pb::app

int main(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    pb::app::invocation() += (i == 0 ? "" : " ") + std::string(argv[i]);
  }
  CLI::App app{"prune-bench: training-free visual-token pruning benchmarks for LLaVA-family models"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  // Explicit list of subcommands, in the order `--help` shows them.
  pb::app::setup_generate(app);
  pb::app::setup_trace(app);
  pb::app::setup_preprocess(app);
  pb::app::setup_tokenize(app);
  pb::app::setup_flops(app);
  pb::app::setup_run(app);
  pb::app::setup_calibrate(app);
  pb::app::setup_merge(app);
  pb::app::setup_score(app);
  pb::app::setup_list(app);
  pb::app::setup_synth(app);
  pb::app::setup_train_synth(app);
  pb::app::setup_sweep(app);
  pb::app::setup_report(app);
  pb::app::setup_compare(app);
  pb::app::setup_convert(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "error: {} (see --help)\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    // pb::Error, c10::Error and anything else: one line, exit 1.
    std::string what = e.what();
    const auto newline = what.find('\n');
    if (newline != std::string::npos) {
      what = what.substr(0, newline);
    }
    fmt::print(stderr, "error: {}\n", what);
    return 1;
  }
  return pb::app::exit_status();
}
