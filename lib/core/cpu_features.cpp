#include "core/cpu_features.h"

#include <fstream>
#include <sstream>
#include <string>

namespace pb {

namespace {

bool read_native_bf16_flag() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') + 1));
    std::string flag;
    while (flags >> flag) {
      if (flag == "amx_bf16" || flag == "avx512_bf16") return true;
    }
    return false;  // every core lists the same flags
  }
  return false;
}

}  // namespace

bool cpu_has_native_bf16() {
  static const bool native = read_native_bf16_flag();
  return native;
}

}  // namespace pb
