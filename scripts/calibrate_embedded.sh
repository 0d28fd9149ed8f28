#!/usr/bin/env bash
# FitPrune recipes of the embedded model (configs/fitprune/synthvqa_tiny_<N>.json), used by the default
# comparison (configs/sweeps/default.json). Each is fitted on 64 SynthVQA *train* questions (never the
# val questions it is scored on) to the fraction of LLM-prefill FLOPs (fitprune convention) that keeping
# N visual tokens from the first layer removes on the first 200 val prompts (random / pool at N):
# 192 -> 0.727, 128 -> 0.825, 64 -> 0.916 (measured with `run`, docs/synthvqa.md). Rerun after
# retraining the model.
# At 0.916 the fit's search reaches an alpha where, on the first sample's layer 0, even one kept visual
# token holds enough attention mass: the official script's loop never breaks there and Python raises
# (docs/pruners.md, FitPrune), so that recipe uses the named deviation --never-break largest.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PB_BUILD_DIR:-build}/apps/prune-bench
for pair in 192:0.727 128:0.825 64:0.916; do
  extra=()
  [[ ${pair%%:*} == 64 ]] && extra=(--never-break largest)
  "$bin" calibrate --model models/synthvqa-tiny --dataset synthvqa:split=train,n=64 --samples 64 \
    --budget "flops:${pair#*:}" --out "configs/fitprune/synthvqa_tiny_${pair%%:*}.json" --quiet "${extra[@]}"
done
