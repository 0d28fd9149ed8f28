// The one list of pruning methods, and spec parsing ("fastv:k=2").
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "pruners/methods.h"
#include "pruners/pruner.h"

namespace pb {

const std::vector<PrunerEntry>& pruner_registry() {
  static const std::vector<PrunerEntry> registry = {
      {none_info(), &make_none},
      {random_info(), &make_random},
      {fastv_info(), &make_fastv},
      {fitprune_info(), &make_fitprune},
      {fopru_info(), &make_fopru},
      {gprune_info(), &make_gprune},
      {visionzip_info(), &make_visionzip},
      {fastervlm_info(), &make_fastervlm},
      {prumerge_plus_info(), &make_prumerge_plus},
      {tome_info(), &make_tome},
      {pool_info(), &make_pool},
      {pdrop_info(), &make_pdrop},
      {sparsevlm_info(), &make_sparsevlm},
      {dart_info(), &make_dart},
      {vtw_info(), &make_vtw},
  };
  return registry;
}

std::unique_ptr<Pruner> make_pruner(const std::string& spec, const Budget& budget) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  PrunerParams params;
  if (colon != std::string::npos) {
    const std::string rest = spec.substr(colon + 1);
    size_t begin = 0;
    while (begin <= rest.size()) {
      const size_t end = std::min(rest.find(',', begin), rest.size());
      const std::string item = rest.substr(begin, end - begin);
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw Error(fmt::format("--pruner '{}': '{}' is not key=value", spec, item));
      }
      if (!params.emplace(item.substr(0, eq), item.substr(eq + 1)).second) {
        throw Error(fmt::format("--pruner '{}': parameter '{}' given twice", spec, item.substr(0, eq)));
      }
      begin = end + 1;
    }
  }
  std::vector<std::string> names;
  for (const PrunerEntry& e : pruner_registry()) {
    if (e.info.name == name) {
      check_param_names(name, params, e.info.params);
      return e.create(params, budget);
    }
    names.push_back(e.info.name);
  }
  throw Error(fmt::format("--pruner '{}': unknown method '{}' (available: {})", spec, name, fmt::join(names, ", ")));
}

void check_param_names(const std::string& method, const PrunerParams& params, const std::vector<PrunerParam>& known) {
  for (const auto& [key, value] : params) {
    bool found = false;
    std::vector<std::string> names;
    for (const PrunerParam& p : known) {
      found = found || p.name == key;
      names.push_back(p.name);
    }
    if (!found) {
      throw Error(fmt::format("{}: unknown parameter '{}' (parameters: {})", method, key,
                              names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
  }
}

int64_t int_param(const std::string& method, const PrunerParams& params, const std::string& name, int64_t fallback) {
  const auto it = params.find(name);
  if (it == params.end()) return fallback;
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != it->second.size()) {
    throw Error(fmt::format("{}: parameter {}='{}' is not an integer", method, name, it->second));
  }
  return v;
}

double double_param(const std::string& method, const PrunerParams& params, const std::string& name, double fallback) {
  const auto it = params.find(name);
  if (it == params.end()) return fallback;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != it->second.size()) {
    throw Error(fmt::format("{}: parameter {}='{}' is not a number", method, name, it->second));
  }
  return v;
}

std::string string_param(const std::string&, const PrunerParams& params, const std::string& name,
                         const std::string& fallback) {
  const auto it = params.find(name);
  return it == params.end() ? fallback : it->second;
}

}  // namespace pb
