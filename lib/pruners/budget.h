// How much of the image a method may keep, as the user says it on the command line:
//   tokens:192           visual tokens kept
//   keep:0.333           fraction of the visual tokens kept (rounded to the nearest count)
//   flops:0.6@fitprune   fraction of LLM-prefill FLOPs removed, under the named convention
//   schedule:FILE        a per-layer schedule (flops/schedule.h) of visual tokens entering each layer
// Each method resolves a budget to its own knobs and records the resolution.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace pb {

struct Budget {
  enum class Kind { kDefault, kTokens, kKeepRatio, kFlops, kSchedule };
  Kind kind = Kind::kDefault;  // kDefault: the method's paper default
  int64_t tokens = 0;
  double ratio = 0;            // keep ratio, or FLOPs fraction removed
  std::string convention;      // for kFlops
  std::string schedule_file;   // for kSchedule
  std::string text;            // as given

  static Budget parse(const std::string& text);  // "" -> kDefault; pb::Error naming the text otherwise
  // Visual tokens to keep out of `n` for kTokens / kKeepRatio (round to nearest, at least 1, at most n).
  int64_t keep_count(int64_t n) const;
  nlohmann::json to_json() const;
};

}  // namespace pb
