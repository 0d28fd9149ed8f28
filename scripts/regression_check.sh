#!/usr/bin/env bash
# CI regression check (docs/sweeps.md): run the fixed sweep configs/sweeps/ci-regression.json and
# `prune-bench compare` every point with the committed baseline run of the same name under
# results/baselines/ci-regression/points/. Exit 3 if any point regresses (compare's exit 3), 1 on any
# other failure (missing or extra points included), 0 otherwise.
#   scripts/regression_check.sh            check (needs a built build/apps/prune-bench)
#   scripts/regression_check.sh --update   rerun and replace the committed baseline (commit it with
#                                          the change that moved the numbers, saying why)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PB_BUILD_DIR:-build}
bin="$build/apps/prune-bench"
config=configs/sweeps/ci-regression.json
baseline=results/baselines/ci-regression
out="$build/ci-regression"
start=$(date +%s)

[[ -x "$bin" ]] || { echo "regression: $bin is not built" >&2; exit 1; }
rm -rf "$out"
"$bin" sweep --config "$config" --out "$out" --quiet >"$out.log" 2>&1 || {
  cat "$out.log" >&2
  echo "regression: the sweep failed" >&2
  exit 1
}

if [[ "${1:-}" == "--update" ]]; then
  rm -rf "$baseline"
  for point in "$out"/points/*/; do
    id=$(basename "$point")
    mkdir -p "$baseline/points/$id"
    cp "$point"/{run.json,point.json,journal.jsonl,summary.json} "$baseline/points/$id/"
  done
  cp "$out/sweep.json" "$baseline/"
  echo "regression: baseline updated in $baseline ($(ls "$baseline/points" | wc -l) points); commit it"
  exit 0
fi

status=0
for point in "$out"/points/*/; do
  id=$(basename "$point")
  [[ -d "$baseline/points/$id" ]] || { echo "regression: $id has no baseline (new point? run with --update)" >&2; status=1; }
done
for base in "$baseline"/points/*/; do
  id=$(basename "$base")
  cand="$out/points/$id"
  if [[ ! -d "$cand" ]]; then
    echo "regression: baseline point $id is not in the sweep any more (run with --update)" >&2
    status=1
    continue
  fi
  rc=0
  "$bin" compare "$base" "$cand" --out "$out/compare/$id" >/dev/null 2>"$out/compare-$id.err" || rc=$?
  case $rc in
    0) echo "regression: $id ok ($(grep -m1 '^- accuracy' "$out/compare/$id/compare.md"))" ;;
    3) echo "regression: $id REGRESSED" >&2; cat "$out/compare/$id/compare.md" >&2; status=3 ;;
    *) echo "regression: compare failed on $id (exit $rc)" >&2; cat "$out/compare-$id.err" >&2; [[ $status == 3 ]] || status=1 ;;
  esac
done
echo "regression: check took $(( $(date +%s) - start )) s"
exit $status
