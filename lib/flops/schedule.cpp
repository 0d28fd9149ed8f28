#include "flops/schedule.h"

#include <fmt/format.h>

#include <limits>

#include "core/error.h"

namespace pb {

bool operator==(const LayerTokens& a, const LayerTokens& b) { return a.in == b.in && a.after_attn == b.after_attn; }
bool operator!=(const LayerTokens& a, const LayerTokens& b) { return !(a == b); }

std::vector<LayerTokens> uniform_schedule(int64_t layers, int64_t visual_tokens) {
  if (layers < 0 || visual_tokens < 0) {
    throw Error(fmt::format("uniform schedule: {} layers of {} visual tokens (both must be >= 0)", layers,
                            visual_tokens));
  }
  return std::vector<LayerTokens>(static_cast<size_t>(layers), LayerTokens{visual_tokens, visual_tokens});
}

namespace {

int64_t count_field(const nlohmann::json& v, const std::string& where, const char* key) {
  // nlohmann: booleans and floats are not number_integer, so 1.5 and true are rejected here.
  if (!v.is_number_integer()) {
    throw Error(fmt::format("{}: \"{}\" must be an integer visual-token count, got {}", where, key, v.dump()));
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw Error(fmt::format("{}: \"{}\" = {} is out of range", where, key, v.dump()));
  }
  return v.get<int64_t>();
}

LayerTokens parse_entry(const nlohmann::json& e, const std::string& where) {
  if (e.is_number_integer()) {
    const int64_t n = count_field(e, where, "in");
    return {n, n};
  }
  if (!e.is_object()) {
    throw Error(fmt::format("{}: expected an integer or {{\"in\": N, \"after_attn\": M}}, got {}", where, e.dump()));
  }
  for (const auto& item : e.items()) {
    if (item.key() != "in" && item.key() != "after_attn") {
      throw Error(fmt::format("{}: unknown key \"{}\" (expected \"in\" and \"after_attn\")", where, item.key()));
    }
  }
  for (const char* key : {"in", "after_attn"}) {
    if (!e.contains(key)) throw Error(fmt::format("{}: missing \"{}\"", where, key));
  }
  return {count_field(e.at("in"), where, "in"), count_field(e.at("after_attn"), where, "after_attn")};
}

void check_entry(const LayerTokens& t, const std::string& where) {
  if (t.in < 0 || t.after_attn < 0) {
    throw Error(fmt::format("{}: visual-token counts must be >= 0 (in {}, after_attn {})", where, t.in, t.after_attn));
  }
  if (t.after_attn > t.in) {
    throw Error(fmt::format("{}: after_attn {} exceeds in {} (a layer cannot add tokens)", where, t.after_attn, t.in));
  }
}

}  // namespace

std::vector<LayerTokens> parse_schedule(const nlohmann::json& j, int64_t layers, int64_t max_visual,
                                        const std::string& source) {
  if (!j.is_array()) {
    throw Error(fmt::format("{}: a schedule is a JSON array with one entry per decoder layer, got {}", source,
                            j.type_name()));
  }
  if (static_cast<int64_t>(j.size()) != layers) {
    throw Error(fmt::format("{}: {} entries, but the model has {} decoder layers (one entry each)", source,
                            j.size(), layers));
  }
  std::vector<LayerTokens> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = fmt::format("{}: entry {}", source, i);
    const LayerTokens t = parse_entry(j[i], where);
    check_entry(t, where);
    if (t.in > max_visual) {
      throw Error(fmt::format("{}: {} visual tokens, more than the {} this model's image gives", where, t.in,
                              max_visual));
    }
    if (!out.empty() && t.in > out.back().after_attn) {
      throw Error(fmt::format("{}: {} visual tokens enter, but only {} left entry {} (pruned tokens do not return)",
                              where, t.in, out.back().after_attn, i - 1));
    }
    out.push_back(t);
  }
  return out;
}

nlohmann::json schedule_to_json(const std::vector<LayerTokens>& schedule) {
  nlohmann::json out = nlohmann::json::array();
  for (const LayerTokens& t : schedule) {
    if (t.in == t.after_attn) {
      out.push_back(t.in);
    } else {
      out.push_back({{"in", t.in}, {"after_attn", t.after_attn}});
    }
  }
  return out;
}

void check_schedule(const std::vector<LayerTokens>& schedule, int64_t layers, const std::string& what) {
  if (static_cast<int64_t>(schedule.size()) != layers) {
    throw Error(fmt::format("{}: schedule has {} entries, but the model has {} decoder layers", what,
                            schedule.size(), layers));
  }
  for (size_t i = 0; i < schedule.size(); ++i) check_entry(schedule[i], fmt::format("{}: layer {}", what, i));
}

}  // namespace pb
