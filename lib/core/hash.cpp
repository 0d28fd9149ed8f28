#include "core/hash.h"

#include <fmt/format.h>

namespace pb {

std::string hex16(uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace pb
