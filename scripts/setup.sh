#!/usr/bin/env bash
# Installs the Debian 12 packages prune-bench needs, only those missing; safe to run any number of times.
set -euo pipefail

packages=(
  g++ cmake make git ccache pkg-config
  libtorch-dev            # LibTorch 1.13 (C++ API)
  libopenblas0-openmp     # without OpenBLAS LibTorch's fp32 matmul falls back to reference BLAS (~15x
                          # slower); the OpenMP build shares LibTorch's threads (selected below)
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

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch loads libblas.so.3 / liblapack.so.3 through Debian's alternatives, which prefer OpenBLAS's
# pthreads build when both are installed. Its worker threads spin beside LibTorch's OpenMP team and
# fp32 training steps ran 1.3-1.4x slower with it on 2 cores (docs/performance.md), so select
# the OpenMP build. `update-alternatives --config libblas.so.3-<arch>` undoes this.
arch=$(gcc -print-multiarch)
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  want=/usr/lib/$arch/openblas-openmp/$lib
  if [ "$(readlink -f "/usr/lib/$arch/$lib")" != "$(readlink -f "$want")" ]; then
    echo "setup: selecting $want for $lib (OpenMP OpenBLAS)"
    "${sudo_cmd[@]}" update-alternatives --set "$lib-$arch" "$want"
  fi
done
