// model_loader: the compute dtype a command asked for, "auto" included.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "core/error.h"
#include "core/cpu_features.h"
#include "pipeline/model_loader.h"

using Catch::Matchers::Contains;

namespace {

// The flags line of /proc/cpuinfo read independently of the code under test.
bool cpuinfo_lists(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return (line + " ").find(" " + flag + " ") != std::string::npos;
  }
  return false;
}

}  // namespace

TEST_CASE("model_loader: fp32 and bf16 stay as asked; auto is bf16 on CUDA and follows the CPU's bf16 flags", "[model]") {
  CHECK(pb::resolve_dtype("fp32", "cpu") == "fp32");
  CHECK(pb::resolve_dtype("bf16", "cpu") == "bf16");
  CHECK(pb::resolve_dtype("fp32", "cuda") == "fp32");
  CHECK(pb::resolve_dtype("auto", "cuda") == "bf16");
  const bool native = cpuinfo_lists("amx_bf16") || cpuinfo_lists("avx512_bf16");
  CHECK(pb::cpu_has_native_bf16() == native);
  CHECK(pb::resolve_dtype("auto", "cpu") == (native ? "bf16" : "fp32"));
  CHECK_THROWS_WITH(pb::resolve_dtype("fp16", "cpu"), Contains("dtype 'fp16'") && Contains("fp32, bf16, auto"));
  pb::ModelSource source;
  source.dtype = "auto";
  CHECK(pb::model_options(source).dtype == (native ? c10::kBFloat16 : c10::kFloat));
}
