// Helpers for the pb_io tests: hand-made (often malformed) files; see test_files.h for the rest.
#pragma once

#include "test_files.h"
#include "zip_builder.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace pb::test {

// A safetensors file as raw bytes: 8-byte length, header, data. The header is used as given
// (no padding), so tests control every byte.
inline std::string raw_safetensors(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

}  // namespace pb::test
