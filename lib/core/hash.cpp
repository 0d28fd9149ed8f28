#include "core/hash.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace pb {

std::string hex16(uint64_t value) { return fmt::format("{:016x}", value); }

std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot read", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return hex16(fnv1a64(ss.str()));
}

}  // namespace pb
