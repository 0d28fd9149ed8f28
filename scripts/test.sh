#!/usr/bin/env bash
# The test command (README Quickstart, and what CI runs): install what is missing, build once with
# AddressSanitizer + UndefinedBehaviorSanitizer at the release optimisation level, run every test and
# the regression check in that build, then fuzz every parser for 20 s.
#
# One instrumented build, not a release build and a sanitizer build: on this 2-core machine each full
# build takes 23-27 minutes with a cold ccache (a new machine), and the two of them with their test
# runs overran CI's 90 minutes. The instrumented build runs the same code at the same -O3, with every
# heap access and every undefined operation checked.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=build-asan
# LibTorch itself is not instrumented; leak checking would report its process-lifetime caches.
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1

start=$(date +%s)
PB_BUILD_DIR=$build scripts/build.sh -DPB_SANITIZE=ON -DPB_WERROR=ON
echo "test: build took $(( $(date +%s) - start )) s"
start=$(date +%s)
(cd $build && ctest --output-on-failure -j"$(nproc)")
echo "test: tests took $(( $(date +%s) - start )) s"
# The fixed CI sweep compared with the committed baseline (docs/sweeps.md); fails on a regression.
PB_BUILD_DIR=$build scripts/regression_check.sh

# Every parser's libFuzzer target for 20 s on its committed seed corpus (tests/fuzz, docs/reliability.md).
start=$(date +%s)
scripts/fuzz.sh 20
echo "test: fuzz build + 20 s per target took $(( $(date +%s) - start )) s"
