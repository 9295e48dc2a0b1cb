#pragma once
// Moving and scaling data before float arithmetic that would otherwise lose it: the expanded
// form ‖x‖² + ‖y‖² − 2x·y rounds away small distances far from the origin, and float squares
// overflow near 1.8e19 and turn denormal below 1e-19. Centring moves points; scaling by a
// power of two is exact.

#include <span>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::detail {

/// The mean of every column of X, summed in double and rounded to float.
[[nodiscard]] std::vector<float> column_means(MatrixView<const float> X);

/// The largest |x_ij − shift_j| (shift empty: |x_ij|), in float.
[[nodiscard]] float largest_magnitude(MatrixView<const float> X, std::span<const float> shift = {});

/// (X − shift)·2^exponent in float, row by row (shift empty: X·2^exponent). The same operations
/// for every row, so a row and a copy of it map to the same values.
[[nodiscard]] Matrix<float> shifted_scaled(MatrixView<const float> X, std::span<const float> shift, int exponent);

}  // namespace shoal::detail
