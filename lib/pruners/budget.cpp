#include "pruners/budget.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace pb {

namespace {

double parse_double(const std::string& s, const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size() || !std::isfinite(v)) {
    throw Error(fmt::format("--budget '{}': '{}' is not a number", text, s));
  }
  return v;
}

}  // namespace

Budget Budget::parse(const std::string& text) {
  Budget b;
  b.text = text;
  if (text.empty()) return b;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string value = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (kind == "tokens") {
    const double v = parse_double(value, text);
    if (v < 1 || v != std::floor(v)) throw Error(fmt::format("--budget '{}': tokens must be a whole number >= 1", text));
    b.kind = Kind::kTokens;
    b.tokens = static_cast<int64_t>(v);
  } else if (kind == "keep") {
    b.ratio = parse_double(value, text);
    if (!(b.ratio > 0 && b.ratio <= 1)) throw Error(fmt::format("--budget '{}': keep ratio must be in (0, 1]", text));
    b.kind = Kind::kKeepRatio;
  } else if (kind == "flops") {
    const auto at = value.find('@');
    b.ratio = parse_double(value.substr(0, at), text);
    if (!(b.ratio >= 0 && b.ratio < 1)) throw Error(fmt::format("--budget '{}': FLOPs fraction must be in [0, 1)", text));
    b.convention = at == std::string::npos ? "fitprune" : value.substr(at + 1);
    b.kind = Kind::kFlops;
  } else if (kind == "schedule") {
    if (value.empty()) throw Error(fmt::format("--budget '{}': schedule needs a file", text));
    b.kind = Kind::kSchedule;
    b.schedule_file = value;
  } else {
    throw Error(fmt::format("--budget '{}': expected tokens:N, keep:R, flops:F[@convention] or schedule:FILE", text));
  }
  return b;
}

int64_t Budget::keep_count(int64_t n) const {
  switch (kind) {
    case Kind::kTokens: return std::min(tokens, n);
    case Kind::kKeepRatio: return std::clamp<int64_t>(std::llround(ratio * static_cast<double>(n)), 1, n);
    default: break;
  }
  throw Error(fmt::format("--budget '{}': this method needs tokens:N or keep:R", text));
}

nlohmann::json Budget::to_json() const {
  switch (kind) {
    case Kind::kDefault: return {{"kind", "default"}};
    case Kind::kTokens: return {{"kind", "tokens"}, {"tokens", tokens}};
    case Kind::kKeepRatio: return {{"kind", "keep"}, {"ratio", ratio}};
    case Kind::kFlops: return {{"kind", "flops"}, {"fraction_removed", ratio}, {"convention", convention}};
    case Kind::kSchedule: return {{"kind", "schedule"}, {"file", schedule_file}};
  }
  return {};
}

}  // namespace pb
