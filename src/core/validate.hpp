#pragma once
// Checks of caller data shared by the algorithms' public entries.

#include <span>

#include "shoal/context.hpp"
#include "shoal/matrix.hpp"

namespace shoal::detail {

/// @throws InvalidArgument when X is empty or holds NaN/±Inf, naming `what` and the first bad row
void check_data(const Context& ctx, MatrixView<const float> X, const char* what);

/// @throws InvalidArgument when a coordinate's magnitude times √d reaches 1e18, where squared
///         distances in float (the kd-tree, FAISS, the GPU tiles) could overflow
void check_distance_range(MatrixView<const float> X, const char* what);

/// @throws InvalidArgument unless `weights` is empty or holds n finite, non-negative values with
///         a positive sum
void check_weights(std::span<const float> weights, index_t n);

}  // namespace shoal::detail
