// Files that appear whole or not at all: written to a temporary file beside the target, fsync'ed,
// then renamed over it. A reader never sees a half-written result, even after a crash.
#pragma once

#include <cstddef>
#include <string>

namespace pb {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);  // creates the temporary file; pb::Error on failure
  ~AtomicFile();                                  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);  // pb::Error naming the file on failure (e.g. ENOSPC)
  void commit();                               // fsync, close, rename into place

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole of `text` as the new content of `path`, atomically.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace pb
