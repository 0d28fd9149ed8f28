#!/usr/bin/env bash
# Installs the Debian 12 packages prune-bench needs, only those missing; safe to run any number of times.
set -euo pipefail

packages=(
  g++ cmake make git ccache pkg-config
  libtorch-dev            # LibTorch 1.13 (C++ API)
  libopenblas0-pthread    # without it LibTorch's fp32 matmul falls back to reference BLAS (~15x slower)
  libopencv-dev libjpeg-dev libcli11-dev nlohmann-json3-dev libfmt-dev catch2
  libsentencepiece-dev    # only for the tokenizer's differential test binary (never linked with LibTorch)
  clang libclang-rt-14-dev  # libFuzzer and its sanitizer runtimes, for scripts/fuzz.sh (tests/fuzz)
  slurm-wlm munge         # the Slurm test starts its own single-node cluster (tests/slurm/cluster.sh)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
