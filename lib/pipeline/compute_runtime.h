// Process-wide settings of the CPU compute runtime: thread count, allocator and BLAS threading.
#pragma once

#include <string>

namespace pb {

// Sets LibTorch's intra-op threads (threads <= 0: one per hardware thread; Debian's LibTorch starts
// with 1) and keeps freed large tensors in the allocator instead of returning them to the kernel
// (see compute_runtime.cpp for why and the measurement). Safe to call more than once.
void set_threads(int threads);

// How the loaded OpenBLAS parallelises: "openmp", "pthreads", "sequential", or "unknown" when the
// BLAS in this process is not OpenBLAS.
std::string blas_threading();

// One line for stderr when the BLAS threading slows LibTorch down here, else empty.
std::string blas_threading_advice();

}  // namespace pb
