#pragma once
// Scores of rows against centroids from low-precision dot products, for the nearest-centroid
// search: bfloat16 with float sums (AVX-512 BF16, twice the multiply-adds per cycle of float
// FMA) and 8-bit integers with exact integer sums (AVX-512 VNNI, four times). Rows and
// centroids are centred on a shift first, which keeps the rounding (relative to their norms)
// small. The rounding is large all the same, so callers bound it (bf16_dot_error,
// int8_dot_error) and decide close calls exactly: results do not depend on the path taken.
// Each kernel only for CPUs where its flag in core/simd.hpp holds.

#include <cstdint>
#include <span>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::kmeans::detail {

/// Rows per micro-tile of both kernels: 2 × 12 accumulators and 2 centroid vectors take 26
/// of the 32 vector registers. Packed rows are padded to a multiple of it.
inline constexpr index_t kLowPrecisionHeight = 12;
/// The largest d whose 8-bit products cannot overflow the integer sums (d · 255 · 127 < 2³¹).
inline constexpr index_t kInt8MaxDims = 65'535;

/// A bound on |x̃·c̃ − x·c| / (‖x‖·‖c‖) for the bf16 kernel on d-dimensional centred rows (each
/// difference rounded to float, then to bf16: 2⁻⁸ relative each; float sums: (d + 2)·2⁻²⁴,
/// doubled for any order of the two products per step). Values flushed to zero (below
/// 2⁻¹²⁶) add at most bf16_flush_error.
[[nodiscard]] double bf16_dot_error(index_t d);
/// The absolute part of the bf16 bound: flushed subnormals, for rows of norm at most `norm`.
[[nodiscard]] double bf16_flush_error(index_t d, double norm);

/// What the int8 bound needs of one centred row: ‖v‖₁ and its quantisation step.
struct Int8Side {
  double l1 = 0.0;    // at least ‖v − shift‖₁ of the float differences
  double step = 0.0;  // largest |v − shift| / 127
};

/// A bound on |computed x·c − (x − μ)·(c − μ)| for the int8 kernel, for rows with these
/// sides, ‖x − μ‖·‖c − μ‖ at most `product`, in d dimensions.
[[nodiscard]] double int8_dot_error(const Int8Side& x, const Int8Side& c, double product, index_t d);

/// The two encodings of the kernels.
enum class Precision { Bf16, Int8 };

/// Centroids minus a shift, in a kernel's layout: panels of 32 centroids, and in a panel, for
/// each group of dimensions (a pair of bf16 or a quad of signed bytes), 32 lanes of 32 bits.
struct LowPrecisionCentroids {
  LowPrecisionCentroids(Precision precision, MatrixView<const float> C, std::span<const float> shift);
  Precision precision;
  index_t rows = 0;
  index_t groups = 0;  // 32-bit words per centroid
  std::vector<std::uint32_t> panels;
  // int8 only, per centroid padded to whole panels: the quantisation step, and 128·Σq (the
  // rows' bytes are stored as q + 128); and the largest l1 and step over the centroids.
  std::vector<float> step;
  std::vector<std::int32_t> offset;
  Int8Side widest;
};

/// Rows minus a shift in a kernel's encoding, `groups` words per row, in groups of
/// kLowPrecisionHeight rows with their words interleaved (zero rows fill the last group).
/// Reused across blocks: pack() overwrites.
class LowPrecisionRows {
 public:
  /// Packs rows[r] = X + r·stride for r < count; writes ‖x − shift‖² (float sums) to norms
  /// and, for int8, each row's side to sides.
  void pack(Precision precision, const float* X, index_t stride, index_t count, index_t d, const float* shift,
            float* norms, Int8Side* sides);
  [[nodiscard]] index_t rows() const { return rows_; }
  [[nodiscard]] index_t groups() const { return groups_; }
  [[nodiscard]] const std::uint32_t* data() const { return packed_.data(); }
  [[nodiscard]] const float* steps() const { return steps_.data(); }

 private:
  index_t rows_ = 0;
  index_t groups_ = 0;
  std::vector<std::uint32_t> packed_;
  std::vector<std::uint32_t> row_;  // one row before interleaving
  std::vector<float> steps_;        // int8: per row
};

/// Per packed row: the smallest score, the second smallest (the smallest again on a tie), and
/// the lowest centroid index holding the smallest.
struct BestScores {
  float* first;
  float* second;
  std::int32_t* index;
};

/// tile[r·ld + j] = add[j] − 2·x̃_r·c̃_j for every packed row r (padding rows included: the
/// tile and `best` need ⌈rows / kLowPrecisionHeight⌉·kLowPrecisionHeight rows) and
/// j < C.rows, in the centroids' precision, and each row's best two scores, found while the
/// scores are in registers.
void low_precision_scores(const LowPrecisionRows& X, const LowPrecisionCentroids& C, const float* add, float* tile,
                          index_t ld, BestScores best);

}  // namespace shoal::kmeans::detail
