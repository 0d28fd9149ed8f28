#!/usr/bin/env bash
# The test command (README Quickstart, and what CI runs): install what is missing, build, run every
# test and the regression check, then build the unit tests with AddressSanitizer + UBSan and run them again,
# then fuzz every parser for 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
PB_BUILD_DIR=build scripts/build.sh -DPB_WERROR=ON
(cd build && ctest --output-on-failure -j"$(nproc)")
echo "test: release build + tests took $(( $(date +%s) - start )) s"
# The fixed CI sweep compared with the committed baseline (docs/sweeps.md); fails on a regression.
PB_BUILD_DIR=build scripts/regression_check.sh

start=$(date +%s)
# The benchmark programs are not tests: not built twice.
PB_BUILD_DIR=build-asan scripts/build.sh -DPB_SANITIZE=ON -DPB_WERROR=ON -DPB_BUILD_BENCH=OFF
# LibTorch itself is not instrumented; leak checking would report its process-lifetime caches.
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$(nproc)")
echo "test: sanitizer build + tests took $(( $(date +%s) - start )) s"

# Every parser's libFuzzer target for 20 s on its committed seed corpus (tests/fuzz, docs/reliability.md).
start=$(date +%s)
scripts/fuzz.sh 20
echo "test: fuzz build + 20 s per target took $(( $(date +%s) - start )) s"
