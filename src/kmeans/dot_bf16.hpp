#pragma once
// Dot products of rows with centroids in bfloat16 with float sums (AVX-512 BF16), which do
// twice the multiply-adds per cycle of float FMA. Only for CPUs where kHasAvx512Bf16 holds.
// The rounding is large (8 significant bits), so callers bound it with bf16_dot_error and
// decide close calls exactly: results do not depend on whether this path runs.

#include <cstdint>
#include <span>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::kmeans::detail {

/// Rows of the kernel's micro-tile: its 2 × 12 accumulators and 2 centroid vectors take 26 of
/// the 32 vector registers.
inline constexpr index_t kBf16Height = 12;

/// A bound on |x̃·c̃ − x·c| / (‖x‖·‖c‖) for the kernel's dot product of d-dimensional rows
/// x − shift and c − shift (each difference rounded to float, then to bf16: 2⁻⁸ relative
/// each; float sums: (d + 2)·2⁻²⁴, doubled for any order of the two products per step).
/// Values flushed to zero (below 2⁻¹²⁶) add at most bf16_flush_error.
[[nodiscard]] double bf16_dot_error(index_t d);
/// The absolute part of the bound: flushed subnormals, for rows of norm at most `norm`.
[[nodiscard]] double bf16_flush_error(index_t d, double norm);

/// Centroids minus a shift, rounded to bf16 in the kernel's layout: panels of 32 centroids,
/// and in a panel, for each pair of dimensions, 32 lanes of two bf16 (zero past k and d).
struct Bf16Centroids {
  Bf16Centroids(MatrixView<const float> C, std::span<const float> shift);
  index_t rows = 0;
  index_t pairs = 0;  // ⌈d / 2⌉
  std::vector<std::uint32_t> panels;
};

/// Rows minus a shift, rounded to bf16 pairs, `pairs` per row, zero rows up to a multiple of
/// kBf16Height. Reused across blocks: pack() overwrites.
class Bf16Rows {
 public:
  /// Packs rows[r] = X + r·stride for r < count; norms[r] = ‖x − shift‖² of the float
  /// differences, summed in float.
  void pack(const float* X, index_t stride, index_t count, index_t d, const float* shift, float* norms);
  [[nodiscard]] index_t rows() const { return rows_; }
  [[nodiscard]] index_t pairs() const { return pairs_; }
  [[nodiscard]] const std::uint32_t* data() const { return packed_.data(); }

 private:
  index_t rows_ = 0;
  index_t pairs_ = 0;
  std::vector<std::uint32_t> packed_;
};

/// Per packed row: the smallest score, the second smallest (the smallest again on a tie), and
/// the lowest centroid index holding the smallest.
struct Bf16Best {
  float* first;
  float* second;
  std::int32_t* index;
};

/// tile[r·ld + j] = add[j] − 2·x̃_r·c̃_j for every packed row r (padding rows included, so
/// the tile and `best` need ⌈rows / kBf16Height⌉·kBf16Height rows) and j < C.rows, and each
/// row's best two scores, found while the scores are in registers.
void bf16_scores(const Bf16Rows& X, const Bf16Centroids& C, const float* add, float* tile, index_t ld,
                 Bf16Best best);

}  // namespace shoal::kmeans::detail
