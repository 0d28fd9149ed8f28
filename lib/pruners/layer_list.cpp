#include "pruners/layer_list.h"

#include <fmt/format.h>

#include <sstream>

#include "core/error.h"

namespace pb {

std::vector<int64_t> layer_list_param(const std::string& method, const PrunerParams& params, const std::string& name,
                                      const std::string& fallback) {
  const auto it = params.find(name);
  const std::string text = it == params.end() ? fallback : it->second;
  std::vector<int64_t> list;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, '/')) {
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0 || (!list.empty() && v <= list.back())) {
      throw Error(fmt::format("{}: parameter {}='{}' must be ascending layer indices separated by '/'", method, name,
                              text));
    }
    list.push_back(v);
  }
  if (list.empty()) throw Error(fmt::format("{}: parameter {} is empty", method, name));
  return list;
}

void check_layers_inside(const std::string& method, const std::vector<int64_t>& list, int64_t layers) {
  for (int64_t l : list) {
    if (l >= layers) {
      throw Error(fmt::format("{}: layer {} is not inside the model's {} decoder layers", method, l, layers));
    }
  }
}

}  // namespace pb
