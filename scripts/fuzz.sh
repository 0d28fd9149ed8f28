#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, no LibTorch) in build-fuzz/ and runs each for
# SECONDS (default 20, what CI gives them) on a copy of its committed seed corpus, so the corpus in
# git never changes behind anyone's back. A crash leaves its input in build-fuzz/crashes/<target>/ and
# makes the script exit non-zero after the remaining targets ran.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# PB_FUZZ_SKIP_BUILD=1 runs already built targets (e.g. several fuzz.sh in parallel on one build).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
dir=${PB_FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$dir"
if [ "${PB_FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -DPB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$dir/fuzz-cmake.log" 2>&1 ||
    { cat "$dir/fuzz-cmake.log"; exit 1; }
  cmake --build "$dir" -j"$(nproc)" > "$dir/fuzz-build.log" 2>&1 || { tail -50 "$dir/fuzz-build.log"; exit 1; }
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(ls tests/fuzz/corpus))
fi
failed=()
for t in "${targets[@]}"; do
  work="$dir/corpus/$t" crashes="$dir/crashes/$t"
  mkdir -p "$work" "$crashes"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  # -rss_limit_mb: an input that makes a parser allocate past 2 GB is a finding (oversized-input rule);
  # -timeout: one input taking over 10 s is a hang.
  log="$dir/fuzz_$t.log"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$dir/tests/fuzz/fuzz_$t" "$work" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$crashes/" \
      -print_final_stats=1 > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    printf 'fuzz: %-18s ok      %10s inputs in %s s, coverage %s, corpus %s files\n' "$t" "$runs" "$seconds" "$cov" \
      "$(ls "$work" | wc -l)"
  else
    printf 'fuzz: %-18s FAILED  (see %s; input saved in %s)\n' "$t" "$log" "$crashes"
    grep -m5 -E 'ERROR|SUMMARY|terminate|what\(\)' "$log" || true
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
