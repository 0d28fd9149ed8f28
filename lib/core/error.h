// Error types shared by every prune-bench library. Library code throws; only apps/ catches and exits.
#pragma once

#include <stdexcept>
#include <string>

namespace pb {

// A user, configuration or data error: the message says what went wrong and where
// (file, tensor, sample), so the command line can print it as one `error: ...` line.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace detail

}  // namespace pb

// Internal invariant, always on (never compiled out like assert): throws pb::Error with file:line.
#define PB_CHECK(cond, msg)                                                \
  do {                                                                     \
    if (!(cond)) ::pb::detail::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
