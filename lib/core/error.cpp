#include "core/error.h"

namespace pb::detail {

void check_failed(const char* file, int line, const char* cond, const std::string& msg) {
  throw Error(std::string("internal check failed at ") + file + ":" + std::to_string(line) + ": " +
              cond + (msg.empty() ? "" : " (" + msg + ")"));
}

}  // namespace pb::detail
