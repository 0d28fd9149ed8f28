// The message of the pb::Error a call throws, for tests that compare refusal texts.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace pb::test {

// The pb::Error's what(), or "(no error)" when the call returns normally.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace pb::test
