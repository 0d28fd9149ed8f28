// A per-process scratch folder for targets whose parser decides by file name (a shard index must be
// called *.safetensors.index.json) or reads a folder: created once, removed at exit.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace pb::fuzz {

inline const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pb-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    static const std::string remove_at_exit = tmpl;
    std::atexit([] { std::filesystem::remove_all(remove_at_exit); });
    return std::filesystem::path(tmpl);
  }();
  return folder;
}

inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path path = scratch_folder() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path.string();
}

}  // namespace pb::fuzz
