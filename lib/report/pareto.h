// Pareto frontier of (cost, accuracy) points: the points no other point beats on both, i.e. none
// has cost <= and accuracy >= with one of them strictly better.
#pragma once

#include <cstddef>
#include <vector>

namespace pb {

struct CostAccuracy {
  double cost, accuracy;
};

// Indices of the frontier points, by increasing cost (ties in both: every copy is kept). Points
// with a NaN coordinate are never on it.
std::vector<size_t> pareto_frontier(const std::vector<CostAccuracy>& points);

}  // namespace pb
