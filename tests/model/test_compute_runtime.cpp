// compute_runtime: the thread count, the allocator setting and the BLAS threading query.
#include <catch2/catch.hpp>

#include <ATen/Parallel.h>

#include <cstdlib>
#include <string>

#include "pipeline/compute_runtime.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

TEST_CASE("compute_runtime: set_threads sets LibTorch's intra-op threads", "[model]") {
  const int before = at::get_num_threads();
  pb::set_threads(1);
  CHECK(at::get_num_threads() == 1);
  pb::set_threads(2);
  CHECK(at::get_num_threads() == 2);
  pb::set_threads(before);
}

#if defined(__GLIBC__)
TEST_CASE("compute_runtime: after set_threads a 64 MiB block comes from the heap, not a fresh mmap", "[model]") {
  // glibc's own threshold never rises above 32 MiB, so without the setting this block is mmapped
  // and its pages are faulted in again after every free.
  pb::set_threads(1);
  const std::size_t mapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(std::size_t{64} << 20);
  REQUIRE(block != nullptr);
  const std::size_t mapped_during = mallinfo2().hblkhd;
  std::free(block);
  CHECK(mapped_during - mapped_before < (std::size_t{64} << 20));
}
#endif

TEST_CASE("compute_runtime: the BLAS threading is named, and advice is given exactly for the pthreads build", "[model]") {
  const std::string kind = pb::blas_threading();
  CHECK((kind == "openmp" || kind == "pthreads" || kind == "sequential" || kind == "unknown"));
  CHECK(pb::blas_threading_advice().empty() == (kind != "pthreads"));
}
