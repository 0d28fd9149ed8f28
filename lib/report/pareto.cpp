#include "report/pareto.h"

#include <algorithm>
#include <cmath>

namespace pb {

std::vector<size_t> pareto_frontier(const std::vector<CostAccuracy>& points) {
  std::vector<size_t> order;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!std::isnan(points[i].cost) && !std::isnan(points[i].accuracy)) order.push_back(i);
  }
  // Cheapest first; among equal cost the most accurate first. A point is on the frontier when it
  // is more accurate than everything cheaper (or equal to the best at exactly its cost).
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (points[a].cost != points[b].cost) return points[a].cost < points[b].cost;
    if (points[a].accuracy != points[b].accuracy) return points[a].accuracy > points[b].accuracy;
    return a < b;
  });
  std::vector<size_t> out;
  for (size_t k = 0; k < order.size(); ++k) {
    const CostAccuracy& p = points[order[k]];
    if (out.empty()) {
      out.push_back(order[k]);
      continue;
    }
    const CostAccuracy& last = points[out.back()];
    const bool duplicate = p.cost == last.cost && p.accuracy == last.accuracy;
    if (duplicate || p.accuracy > last.accuracy) out.push_back(order[k]);
  }
  return out;
}

}  // namespace pb
