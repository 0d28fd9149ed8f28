#!/usr/bin/env bash
# The main job (README Quickstart): install what is missing, build, then run the default comparison on
# the embedded benchmark (configs/sweeps/default.json: the committed tiny LLaVA on 200 SynthVQA val
# questions, unpruned, random and every method at 192/128/64 visual tokens) and print its table.
# Resumable: rerunning skips finished points and samples. Results in results/default/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
PB_BUILD_DIR=build scripts/build.sh
echo "quickstart: build took $(( $(date +%s) - start )) s" >&2
start=$(date +%s)
build/apps/prune-bench sweep --config configs/sweeps/default.json --out results/default
echo "quickstart: the comparison took $(( $(date +%s) - start )) s" >&2
# The table (also results/default/report/report.md, with report.csv, pareto.csv and the accuracy-vs-FLOPs PNG).
build/apps/prune-bench report results/default --out results/default/report
