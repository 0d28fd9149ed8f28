#!/usr/bin/env bash
# The main job (README Quickstart): install what is missing, build, then run the default comparison on
# the embedded benchmark (configs/sweeps/default.json: the trained tiny LLaVA on 200 SynthVQA val
# questions, the unpruned model, random and every pruner at 192/128/64 visual tokens) and print the
# table of accuracy, FLOPs and measured prefill time (results/sweep-default/report/report.md).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh
echo "quickstart: install check took $(( $(date +%s) - start )) s" >&2
start=$(date +%s)
PB_BUILD_DIR=build scripts/build.sh
echo "quickstart: build took $(( $(date +%s) - start )) s" >&2
start=$(date +%s)
# Resumable: a second call skips finished points (delete results/sweep-default to measure again).
build/apps/prune-bench sweep --config configs/sweeps/default.json --out results/sweep-default
build/apps/prune-bench report results/sweep-default --out results/sweep-default/report
echo "quickstart: the default comparison took $(( $(date +%s) - start )) s" >&2
