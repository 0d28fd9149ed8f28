// What every fuzz target shares: the input as a file (the parsers under test take paths) without
// touching the disk, and the contract being fuzzed.
//
// The contract: on any bytes, a parser either succeeds or throws pb::Error (a one-line message the CLI
// prints). Anything else (a crash, a sanitizer report, another exception type escaping, a hang, an
// allocation beyond libFuzzer's -rss_limit_mb) is a bug that the fuzzer reports.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace pb::fuzz {

// The bytes as an anonymous in-memory file, reachable by path (/proc/self/fd/N) while it lives.
class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) {
    fd_ = ::memfd_create("pb-fuzz-input", MFD_CLOEXEC);
    if (fd_ < 0) std::abort();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemoryFile() { ::close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace pb::fuzz
