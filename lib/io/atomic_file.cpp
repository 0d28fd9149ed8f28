#include "io/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"

namespace pb {

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + ".tmp-XXXXXX") {
  fd_ = ::mkstemp(tmp_.data());
  if (fd_ < 0) {
    throw Error(fmt::format("{}: cannot create a temporary file next to it: {}", path_, std::strerror(errno)));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  if (!committed_) {
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    // Linux writes at most ~2 GiB per call; larger weight tensors take several.
    const ssize_t n = ::write(fd_, p, std::min<size_t>(bytes, size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("{}: write failed: {}", tmp_, std::strerror(errno)));
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  // mkstemp creates 0600; results are meant to be shared like any other file.
  if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0) {
    throw Error(fmt::format("{}: cannot finish writing: {}", tmp_, std::strerror(errno)));
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    throw Error(fmt::format("{}: close failed: {}", tmp_, std::strerror(errno)));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw Error(fmt::format("{}: cannot rename {} into place: {}", path_, tmp_, std::strerror(errno)));
  }
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace pb
