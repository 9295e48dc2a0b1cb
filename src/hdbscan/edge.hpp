#pragma once
// An edge of the mutual-reachability spanning tree, and the total order (weight, smaller
// endpoint, larger endpoint) that makes the tree unique and the result independent of search
// order: one definition for the host's rounds (mst.cpp) and the device's (boruvka.cuh).

#include <cstdint>
#include <limits>

#include "core/host_device.hpp"

namespace shoal::hdbscan::detail {

struct Edge {
  double weight = std::numeric_limits<double>::infinity();
  std::int32_t a = -1;  // smaller endpoint; −1 for no edge
  std::int32_t b = -1;  // larger endpoint
  [[nodiscard]] SHOAL_HOST_DEVICE bool valid() const { return a >= 0; }
  SHOAL_HOST_DEVICE friend bool operator<(const Edge& x, const Edge& y) {
    if (x.weight != y.weight) return x.weight < y.weight;
    if (x.a != y.a) return x.a < y.a;
    return x.b < y.b;
  }
};

SHOAL_HOST_DEVICE inline Edge make_edge(double weight, std::int64_t p, std::int64_t q) {
  return p < q ? Edge{weight, static_cast<std::int32_t>(p), static_cast<std::int32_t>(q)}
               : Edge{weight, static_cast<std::int32_t>(q), static_cast<std::int32_t>(p)};
}

}  // namespace shoal::hdbscan::detail
