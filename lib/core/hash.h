// Stable, dependency-free hashing for identities recorded in results (config hashes, prompt ids).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pb {

// FNV-1a, 64 bit: stable across platforms and runs (std::hash is not).
inline uint64_t fnv1a64(std::string_view bytes, uint64_t hash = 14695981039346656037ull) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string hex16(uint64_t value);  // 16 lower-case hex digits

// hex16(fnv1a64(bytes of the file)); pb::Error naming the file when it cannot be read.
std::string file_hash(const std::string& path);

}  // namespace pb
