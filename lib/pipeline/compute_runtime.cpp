#include "pipeline/compute_runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace pb {

namespace {

// glibc serves every allocation above its mmap threshold (128 KiB at first, adapting up to 32 MiB)
// with a fresh mmap and unmaps it on free, so each step's attention matrices and activations fault
// in zeroed pages again: 8% of a SynthVQA training step's samples were in clear_page and the page
// fault path (perf, 2026-12-06). Serving them from the heap and keeping up to this much freed memory
// cut a fp32 training step by 1.2-1.3x on its own (bench/train_step_bench, AVX2 EPYC, 2 threads;
// docs/performance.md). 1 GiB bounds what an idle process keeps.
constexpr std::size_t kKeptAllocatorBytes = std::size_t{1} << 30;

void keep_large_allocations() {
#if defined(__GLIBC__)
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(kKeptAllocatorBytes));
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(kKeptAllocatorBytes));
    return true;
  }();
  (void)done;
#endif
}

}  // namespace

void set_threads(int threads) {
  keep_large_allocations();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int chosen = threads > 0 ? threads : cores;
  at::set_num_threads(chosen);
  static bool advised = false;
  if (chosen > 1 && !advised) {
    advised = true;
    if (const std::string advice = blas_threading_advice(); !advice.empty()) std::fprintf(stderr, "%s\n", advice.c_str());
  }
}

std::string blas_threading() {
  // OpenBLAS's own query (0 sequential, 1 pthreads, 2 OpenMP), looked up at run time so that a
  // process linked against another BLAS still starts.
  using GetParallel = int (*)();
  auto* get_parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (get_parallel == nullptr) return "unknown";
  switch (get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    case 2: return "openmp";
    default: return "unknown";
  }
}

std::string blas_threading_advice() {
  // The pthreads build keeps its own worker threads spinning beside LibTorch's OpenMP team; on 2
  // cores the two pools take turns (35% of a training step's samples in sched_yield and libgomp's
  // spin loop) and fp32 steps ran 1.3-1.4x slower than with the OpenMP build (docs/performance.md).
  if (blas_threading() != "pthreads") return {};
  return "note: OpenBLAS is its pthreads build, which competes with LibTorch's OpenMP threads (fp32 training "
         "1.3-1.4x slower here); scripts/setup.sh installs libopenblas0-openmp and selects it";
}

}  // namespace pb
