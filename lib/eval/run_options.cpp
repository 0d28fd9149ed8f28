#include "eval/run_options.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/error.h"

namespace pb {

namespace {

int parse_int(const std::string& text, const std::string& what) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    throw Error(fmt::format("{}: '{}' is not an integer", what, text));
  }
  return value;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) throw Error(fmt::format("--shard auto: environment variable {} is not set (not a Slurm array task?)", name));
  return v;
}

}  // namespace

void parse_shard(const std::string& text, int& index, int& count) {
  if (text == "auto") {
    index = parse_int(env("SLURM_ARRAY_TASK_ID"), "SLURM_ARRAY_TASK_ID") -
            parse_int(env("SLURM_ARRAY_TASK_MIN"), "SLURM_ARRAY_TASK_MIN");
    count = parse_int(env("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT");
  } else {
    const auto slash = text.find('/');
    if (slash == std::string::npos) throw Error(fmt::format("--shard '{}': expected i/N or auto", text));
    index = parse_int(text.substr(0, slash), "--shard");
    count = parse_int(text.substr(slash + 1), "--shard");
  }
  if (count < 1 || index < 0 || index >= count) {
    throw Error(fmt::format("--shard {}/{}: need 0 <= i < N", index, count));
  }
}

}  // namespace pb
