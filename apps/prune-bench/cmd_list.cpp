// `prune-bench list`: the registered pruning methods, protocols and dataset formats.
#include <fmt/core.h>

#include "command.h"
#include "datasets/dataset.h"
#include "eval/protocol.h"
#include "pruners/pruner.h"

namespace pb::app {

namespace {

void run_list() {
  fmt::print("Pruning methods (--pruner NAME[:param=value,...] --budget tokens:N|keep:R|flops:F[@conv]):\n");
  for (const PrunerEntry& e : pruner_registry()) {
    const PrunerInfo& i = e.info;
    fmt::print("\n  {:<10} {}\n", i.name, i.description);
    fmt::print("  {:<10} paper: {}\n", "", i.paper);
    fmt::print("  {:<10} code:  {}\n", "", i.code);
    fmt::print("  {:<10} positions after pruning: {}\n", "", i.positions);
    for (const PrunerParam& p : i.params) {
      fmt::print("  {:<10} {}={} ({})\n", "", p.name, p.default_value, p.description);
    }
  }
  fmt::print("\nProtocols (--protocol):\n");
  for (const Protocol& p : protocol_registry()) fmt::print("  {:<10} {} [{}]\n", p.name, p.description, p.id());
  fmt::print("\nDataset formats (--dataset):\n");
  for (const DatasetFormatInfo& f : dataset_format_registry()) fmt::print("  {}\n      {}\n", f.usage, f.description);
}

}  // namespace

void setup_list(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("list", "List pruning methods (with parameters and sources), protocols, datasets");
  cmd->callback([] { run_list(); });
}

}  // namespace pb::app
