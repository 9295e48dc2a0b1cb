#pragma once
/// @file
/// @brief The distance metrics algorithms accept.

#include <string_view>

namespace shoal {

/// L2: Euclidean distance. Cosine: the angle between rows, implemented as Euclidean distance
/// between rows scaled to unit length (‖x̂ − ŷ‖² = 2·(1 − cos)), so rows must be non-zero.
enum class Metric { L2, Cosine };

/// "l2" or "cosine".
[[nodiscard]] std::string_view to_string(Metric metric);

/// Parses "l2" (also "euclidean") or "cosine".
/// @throws InvalidArgument for any other name
[[nodiscard]] Metric parse_metric(std::string_view name);

}  // namespace shoal
