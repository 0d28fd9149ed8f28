#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace pb {

namespace {

// Closes the descriptor on every path out of open(); the mapping outlives it.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

MappedFile MappedFile::open(const std::string& path, const std::string& what) {
  const FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  auto fail = [&](const std::string& reason) {
    return Error(fmt::format("{}: cannot open {}: {}", path, what, reason));
  };
  if (fd.fd < 0) throw fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw fail(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  MappedFile file;
  file.size_ = static_cast<uint64_t>(st.st_size);
  if (file.size_ == 0) return file;  // mmap refuses length 0; callers report the file as too short
  void* mapping = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (mapping == MAP_FAILED) throw fail(fmt::format("mmap failed: {}", std::strerror(errno)));
  file.mapping_ = mapping;
  return file;
}

MappedFile::~MappedFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (mapping_ != nullptr) ::munmap(mapping_, size_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace pb
