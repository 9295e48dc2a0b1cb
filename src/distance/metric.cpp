#include "core/check.hpp"
#include "shoal/distance.hpp"

namespace shoal {

std::string_view to_string(Metric metric) {
  switch (metric) {
    case Metric::L2: return "l2";
    case Metric::Cosine: return "cosine";
  }
  return "unknown";
}

Metric parse_metric(std::string_view name) {
  if (name == "l2" || name == "euclidean") return Metric::L2;
  if (name == "cosine") return Metric::Cosine;
  throw InvalidArgument(detail::concat("unknown metric '", name, "' (expected l2 or cosine)"));
}

}  // namespace shoal
