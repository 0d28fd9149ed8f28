// A list of decoder layers given as a method parameter, "8/16/24" ('/' because ',' separates
// parameters in a method spec).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pruners/pruner.h"

namespace pb {

// Parses params[name] (or `fallback`) into strictly ascending non-negative layer indices.
// pb::Error naming the method and the parameter otherwise.
std::vector<int64_t> layer_list_param(const std::string& method, const PrunerParams& params, const std::string& name,
                                      const std::string& fallback);

// pb::Error unless every layer is below `layers` (the model's decoder depth).
void check_layers_inside(const std::string& method, const std::vector<int64_t>& list, int64_t layers);

}  // namespace pb
