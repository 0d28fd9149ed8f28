// A whole regular file mapped read-only (private), unmapped when the object goes away. Shared by the
// readers that validate a file in place (safetensors, torch.save zip archives): mapping reserves
// address space only, so their size checks still run before anything is allocated.
#pragma once

#include <cstdint>
#include <string>

namespace pb {

class MappedFile {
 public:
  // Opens and maps `path`. pb::Error "<path>: cannot open <what>: <reason>" (also for stat failures,
  // non-regular files and mmap failures). An empty file maps to size 0 and data() == nullptr.
  static MappedFile open(const std::string& path, const std::string& what);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return static_cast<const unsigned char*>(mapping_); }
  uint64_t size() const { return size_; }

 private:
  void* mapping_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace pb
