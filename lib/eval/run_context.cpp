#include "eval/run_context.h"

#include <ATen/Parallel.h>
#include <opencv2/core/version.hpp>
#include <sys/resource.h>
#include <torch/version.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

#include "core/build_info.h"

namespace pb {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

nlohmann::json run_context(const std::string& dtype, const std::string& device, const std::string& command_line) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return {{"date_utc", utc_now()},
          {"host", host},
          {"prune_bench_version", build_version()},
          {"git_sha", build_git_sha()},
          {"git_dirty", build_git_dirty()},
          {"libtorch_version", TORCH_VERSION},
          {"opencv_version", CV_VERSION},
          {"cpu", cpu_model()},
          {"threads", at::get_num_threads()},
          {"dtype", dtype},
          {"device", device},
          {"command_line", command_line}};
}

}  // namespace pb
