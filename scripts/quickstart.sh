#!/usr/bin/env bash
# The main job (README Quickstart): install what is missing, build, answer one question about one
# image with the embedded tiny model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
PB_BUILD_DIR=build scripts/build.sh
echo "quickstart: build took $(( $(date +%s) - start )) s" >&2
build/apps/prune-bench generate \
  --model configs/models/llava15-tiny-text.json --random-weights \
  --tokenizer tests/data/golden/tokenizer/llama.model \
  --image tests/data/golden/images/fruits.jpg \
  --question "What fruit is in the picture?" --max-new-tokens 16
