#!/usr/bin/env bash
# Configures and builds prune-bench into build/ (or $PB_BUILD_DIR) with every core; extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${PB_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
