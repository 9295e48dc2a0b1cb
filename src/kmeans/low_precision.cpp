#include "kmeans/low_precision.hpp"

#include <immintrin.h>

#include <cmath>
#include <limits>

#include "core/simd.hpp"

#define SHOAL_TARGET_BF16 __attribute__((target("avx512f,avx512bf16")))
#define SHOAL_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace shoal::kmeans::detail {
namespace {

constexpr index_t kPanel = 32;  // centroids per panel: two vectors of 16 lanes
// |v − step·q| ≤ step·kHalfStep per int8 value: half a step, and the float scale's rounding.
constexpr double kHalfStep = 0.5 + 1.0 / 16384;

using shoal::detail::first_lanes;

SHOAL_AVX512_BEGIN
/// Writes the bf16 pairs of x − shift (zero-padded to ⌈d/2⌉ pairs); returns ‖x − shift‖² of
/// the float differences.
SHOAL_TARGET_BF16 float pack_bf16_row(const float* x, const float* shift, index_t d, std::uint32_t* out) {
  __m512 sq = _mm512_setzero_ps();
  for (index_t j = 0; j < d; j += 32) {
    const __mmask16 low = first_lanes(d - j), high = first_lanes(d - j - 16);
    const __m512 a = _mm512_sub_ps(_mm512_maskz_loadu_ps(low, x + j), _mm512_maskz_loadu_ps(low, shift + j));
    const __m512 b =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(high, x + j + 16), _mm512_maskz_loadu_ps(high, shift + j + 16));
    sq = _mm512_fmadd_ps(a, a, sq);
    sq = _mm512_fmadd_ps(b, b, sq);
    _mm512_mask_storeu_epi32(out + j / 2, first_lanes((d - j + 1) / 2),
                             reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a)));
  }
  return _mm512_reduce_add_ps(sq);
}

/// Quantises x − shift to bytes q (`signed_bytes`) or q + 128, zero-padded to whole quads;
/// returns ‖x − shift‖² of the float differences and sets the side.
SHOAL_TARGET_VNNI float pack_int8_row(const float* x, const float* shift, index_t d, bool signed_bytes,
                                      std::uint8_t* out, Int8Side& side) {
  __m512 sq = _mm512_setzero_ps(), l1 = _mm512_setzero_ps(), widest = _mm512_setzero_ps();
  for (index_t j = 0; j < d; j += 16) {
    const __mmask16 valid = first_lanes(d - j);
    const __m512 a = _mm512_sub_ps(_mm512_maskz_loadu_ps(valid, x + j), _mm512_maskz_loadu_ps(valid, shift + j));
    const __m512 magnitude = _mm512_abs_ps(a);
    sq = _mm512_fmadd_ps(a, a, sq);
    l1 = _mm512_add_ps(l1, magnitude);
    widest = _mm512_max_ps(widest, magnitude);
  }
  // The step of a row whose values are all tiny stays above 2⁻¹⁰⁰/127, where 127/step cannot
  // overflow; |x − shift|/step ≤ 127 still.
  const float largest = std::max(_mm512_reduce_max_ps(widest), 0x1p-100f);
  const __m512 inverse = _mm512_set1_ps(127.0f / largest);
  const __m512i bias = _mm512_set1_epi32(signed_bytes ? 0 : 128);
  const index_t padded = (d + 3) / 4 * 4;
  for (index_t j = 0; j < padded; j += 16) {
    const __mmask16 valid = first_lanes(d - j);
    const __m512 a = _mm512_sub_ps(_mm512_maskz_loadu_ps(valid, x + j), _mm512_maskz_loadu_ps(valid, shift + j));
    // |a|·127/largest rounds to at most 127 in magnitude.
    const __m512i q = _mm512_maskz_add_epi32(valid, _mm512_cvtps_epi32(_mm512_mul_ps(a, inverse)), bias);
    // Narrowed in a register: the narrowing store to memory is slow on AMD's Zen 4.
    _mm_mask_storeu_epi8(out + j, first_lanes(padded - j), _mm512_cvtepi32_epi8(q));
  }
  // The float sum of |x − shift| rounded up past its rounding (16 lanes, then a tree).
  const double l1_bound = _mm512_reduce_add_ps(l1) * (1.0 + (static_cast<double>(d) + 16.0) * 0x1p-23);
  side = {l1_bound, static_cast<double>(largest / 127.0f)};
  return _mm512_reduce_add_ps(sq);
}

/// The running two smallest scores of a row per lane (lane l sees the centroids j ≡ l mod 16),
/// and the lowest centroid index holding the smallest.
struct LaneBest {
  __m512 first, second;
  __m512i index;
};

/// Stores 16 scores of centroids `base` + lane (those in `valid`) and folds them into `best`.
__attribute__((target("avx512f"))) inline void store_and_fold(float* out, LaneBest& best, __m512 scores,
                                                               __mmask16 valid, int base) {
  _mm512_mask_storeu_ps(out, valid, scores);
  const __mmask16 lower = _mm512_mask_cmp_ps_mask(valid, scores, best.first, _CMP_LT_OQ);
  best.second = _mm512_mask_min_ps(best.second, valid, best.second, _mm512_max_ps(best.first, scores));
  best.first = _mm512_mask_min_ps(best.first, valid, best.first, scores);
  best.index = _mm512_mask_add_epi32(best.index, lower, _mm512_set1_epi32(base),
                                     _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

// The micro-tiles: a group of kLowPrecisionHeight packed rows (interleaved: word t of row r at
// t·kLowPrecisionHeight + r, one pointer for all) against one panel, `width` ≤ 32 of its
// centroids (from `base` on) written as add − 2·dot and folded into the rows' running best.
// Not inlined: inlined into the row-group loop, GCC 12 keeps the accumulators in memory.

SHOAL_TARGET_BF16 __attribute__((noinline)) void bf16_micro_tile(const std::uint32_t* x, index_t pairs,
                                                                 const std::uint32_t* panel, const float* add,
                                                                 index_t base, index_t width, float* out, index_t ld,
                                                                 LaneBest* best) {
  __m512 acc[kLowPrecisionHeight][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
  for (index_t t = 0; t < pairs; ++t) {
    const auto c0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + t * kPanel));
    const auto c1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + t * kPanel + 16));
#pragma GCC unroll 12
    for (index_t r = 0; r < kLowPrecisionHeight; ++r) {
      const auto xr = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(x[t * kLowPrecisionHeight + r])));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], xr, c0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], xr, c1);
    }
  }
  const __mmask16 low = first_lanes(width), high = first_lanes(width - 16);
  const __m512 add0 = _mm512_maskz_loadu_ps(low, add), add1 = _mm512_maskz_loadu_ps(high, add + 16);
  const __m512 minus_two = _mm512_set1_ps(-2.0f);
  for (index_t r = 0; r < kLowPrecisionHeight; ++r) {
    store_and_fold(out + r * ld, best[r], _mm512_fmadd_ps(acc[r][0], minus_two, add0), low, static_cast<int>(base));
    store_and_fold(out + r * ld + 16, best[r], _mm512_fmadd_ps(acc[r][1], minus_two, add1), high,
                   static_cast<int>(base + 16));
  }
}

// The int8 micro-tile names its 24 accumulators and hands them to the epilogue through memory:
// without both (tried: an array, named variables alone, inline assembly), GCC 12 copies every
// accumulator through the stack on each step, at half the speed.
#define SHOAL_FOR_EACH_ROW(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
static_assert(kLowPrecisionHeight == 12, "SHOAL_FOR_EACH_ROW lists kLowPrecisionHeight rows");

SHOAL_TARGET_VNNI __attribute__((noinline)) void int8_micro_tile(const std::uint32_t* x, index_t quads,
                                                                 const float* x_steps, const std::uint32_t* panel,
                                                                 const float* c_steps, const std::int32_t* offsets,
                                                                 const float* add, index_t base, index_t width,
                                                                 float* out, index_t ld, LaneBest* best) {
#define SHOAL_DECLARE(r) __m512i low##r = _mm512_setzero_si512(), high##r = _mm512_setzero_si512();
  SHOAL_FOR_EACH_ROW(SHOAL_DECLARE)
#undef SHOAL_DECLARE
  for (index_t t = 0; t < quads; ++t) {
    const __m512i c0 = _mm512_loadu_si512(panel + t * kPanel), c1 = _mm512_loadu_si512(panel + t * kPanel + 16);
    const std::uint32_t* words = x + t * kLowPrecisionHeight;
#define SHOAL_STEP(r)                                                         \
  {                                                                           \
    const __m512i xr = _mm512_set1_epi32(static_cast<int>(words[r]));         \
    low##r = _mm512_dpbusd_epi32(low##r, xr, c0);                             \
    high##r = _mm512_dpbusd_epi32(high##r, xr, c1);                           \
  }
    SHOAL_FOR_EACH_ROW(SHOAL_STEP)
#undef SHOAL_STEP
  }
  alignas(64) std::int32_t sums[kLowPrecisionHeight][kPanel];
#define SHOAL_SAVE(r)                              \
  _mm512_store_si512(sums[r], low##r);             \
  _mm512_store_si512(sums[r] + 16, high##r);
  SHOAL_FOR_EACH_ROW(SHOAL_SAVE)
#undef SHOAL_SAVE
  const __mmask16 low = first_lanes(width), high = first_lanes(width - 16);
  const __m512 add0 = _mm512_maskz_loadu_ps(low, add), add1 = _mm512_maskz_loadu_ps(high, add + 16);
  const __m512 step0 = _mm512_loadu_ps(c_steps), step1 = _mm512_loadu_ps(c_steps + 16);
  const __m512i offset0 = _mm512_loadu_si512(offsets), offset1 = _mm512_loadu_si512(offsets + 16);
  // add − 2·step_x·step_c·(Σ (q_x + 128)·q_c − 128·Σ q_c)
  for (index_t r = 0; r < kLowPrecisionHeight; ++r) {
    const __m512 scale = _mm512_set1_ps(-2.0f * x_steps[r]);
    const __m512 dot0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(sums[r]), offset0)), step0);
    const __m512 dot1 =
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(sums[r] + 16), offset1)), step1);
    store_and_fold(out + r * ld, best[r], _mm512_fmadd_ps(dot0, scale, add0), low, static_cast<int>(base));
    store_and_fold(out + r * ld + 16, best[r], _mm512_fmadd_ps(dot1, scale, add1), high, static_cast<int>(base + 16));
  }
}
#undef SHOAL_FOR_EACH_ROW

/// The overall best two of one row from its lanes: the smallest, its lowest index, and the
/// second smallest (the smallest again if two centroids hold it).
__attribute__((target("avx512f"))) void reduce_lanes(const LaneBest& best, float& first, float& second,
                                                     std::int32_t& index) {
  first = _mm512_reduce_min_ps(best.first);
  const __mmask16 at_first = _mm512_cmp_ps_mask(best.first, _mm512_set1_ps(first), _CMP_EQ_OQ);
  index = _mm512_mask_reduce_min_epi32(at_first, best.index);
  const float others = _mm512_mask_reduce_min_ps(static_cast<__mmask16>(~at_first), best.first);
  second = (at_first & (at_first - 1)) != 0 ? first : std::min(_mm512_reduce_min_ps(best.second), others);
}

/// Row groups of kLowPrecisionHeight, each against every panel through `micro_tile(row,
/// centroid, width, lanes)`, then each row's best two from its lanes.
__attribute__((target("avx512f"))) void by_row_groups(const LowPrecisionRows& X, const LowPrecisionCentroids& C,
                                                      BestScores best, const auto& micro_tile) {
  const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  for (index_t r = 0; r < X.rows(); r += kLowPrecisionHeight) {
    LaneBest lanes[kLowPrecisionHeight];
    for (LaneBest& lane : lanes) lane = {inf, inf, _mm512_setzero_si512()};
    for (index_t j = 0; j < C.rows; j += kPanel) micro_tile(r, j, std::min(kPanel, C.rows - j), lanes);
    for (index_t i = 0; i < kLowPrecisionHeight; ++i) {
      reduce_lanes(lanes[i], best.first[r + i], best.second[r + i], best.index[r + i]);
    }
  }
}
SHOAL_AVX512_END

}  // namespace

double bf16_dot_error(index_t d) {
  // (1 + 2⁻²⁴)²(1 + 2⁻⁸)² − 1 < 2⁻⁷·1.01 for the two roundings of each factor, and the float
  // sums over products already that large (× 1.01).
  return 1.01 * 0x1p-7 + 2.0 * (static_cast<double>(d) + 2.0) * 1.01 * 0x1p-24;
}

double bf16_flush_error(index_t d, double norm) {
  // A flushed factor is below 2⁻¹²⁶ and its partner below the norm; d of them, both sides.
  return 2.0 * static_cast<double>(d) * 0x1p-126 * (norm + 1.0);
}

double int8_dot_error(const Int8Side& x, const Int8Side& c, double product, index_t d) {
  // x − μ = step_x·q_x + e_x with |e_x| ≤ step_x·kHalfStep per value, the same for c: the two
  // cross terms (step_x·|q_x| ≤ |x − μ| + |e_x|) and the product of the errors; and the float
  // differences' rounding. The integer sums are exact.
  return kHalfStep * (c.step * x.l1 + x.step * c.l1) +
         3.0 * static_cast<double>(d) * kHalfStep * kHalfStep * x.step * c.step + product * 0x1p-22;
}

LowPrecisionCentroids::LowPrecisionCentroids(Precision precision_, MatrixView<const float> C,
                                             std::span<const float> shift)
    : precision(precision_),
      rows(C.rows()),
      groups(precision_ == Precision::Bf16 ? (C.cols() + 1) / 2 : (C.cols() + 3) / 4) {
  const index_t panel_count = (rows + kPanel - 1) / kPanel;
  panels.assign(static_cast<std::size_t>(panel_count * groups * kPanel), 0u);
  if (precision == Precision::Int8) {
    step.assign(static_cast<std::size_t>(panel_count * kPanel), 0.0f);
    offset.assign(step.size(), 0);
  }
  std::vector<std::uint32_t> row(static_cast<std::size_t>(groups));
  for (index_t j = 0; j < rows; ++j) {
    if (precision == Precision::Bf16) {
      pack_bf16_row(C.row(j), shift.data(), C.cols(), row.data());
    } else {
      Int8Side side;
      pack_int8_row(C.row(j), shift.data(), C.cols(), true, reinterpret_cast<std::uint8_t*>(row.data()), side);
      step[j] = static_cast<float>(side.step);
      widest = {std::max(widest.l1, side.l1), std::max(widest.step, side.step)};
      std::int32_t sum = 0;
      for (const std::uint32_t word : row) {
        for (int b = 0; b < 4; ++b) sum += static_cast<std::int8_t>(word >> (8 * b));
      }
      offset[j] = 128 * sum;
    }
    std::uint32_t* panel = panels.data() + (j / kPanel) * groups * kPanel + j % kPanel;
    for (index_t t = 0; t < groups; ++t) panel[t * kPanel] = row[t];
  }
}

void LowPrecisionRows::pack(Precision precision, const float* X, index_t stride, index_t count, index_t d,
                            const float* shift, float* norms, Int8Side* sides) {
  groups_ = precision == Precision::Bf16 ? (d + 1) / 2 : (d + 3) / 4;
  rows_ = (count + kLowPrecisionHeight - 1) / kLowPrecisionHeight * kLowPrecisionHeight;
  packed_.assign(static_cast<std::size_t>(rows_ * groups_), 0u);
  steps_.assign(static_cast<std::size_t>(rows_), 0.0f);
  row_.resize(static_cast<std::size_t>(groups_));
  for (index_t r = 0; r < count; ++r) {
    if (precision == Precision::Bf16) {
      norms[r] = pack_bf16_row(X + r * stride, shift, d, row_.data());
    } else {
      norms[r] = pack_int8_row(X + r * stride, shift, d, false, reinterpret_cast<std::uint8_t*>(row_.data()), sides[r]);
      steps_[r] = static_cast<float>(sides[r].step);
    }
    const index_t first_of_group = r / kLowPrecisionHeight * kLowPrecisionHeight;
    std::uint32_t* group = packed_.data() + first_of_group * groups_ + r % kLowPrecisionHeight;
    for (index_t t = 0; t < groups_; ++t) group[t * kLowPrecisionHeight] = row_[t];
  }
}

void low_precision_scores(const LowPrecisionRows& X, const LowPrecisionCentroids& C, const float* add, float* tile,
                          index_t ld, BestScores best) {
  const index_t groups = X.groups();
  if (C.precision == Precision::Bf16) {
    by_row_groups(X, C, best, [&](index_t r, index_t j, index_t width, LaneBest* lanes) {
      bf16_micro_tile(X.data() + r * groups, groups, C.panels.data() + j * groups, add + j, j, width,
                      tile + r * ld + j, ld, lanes);
    });
  } else {
    by_row_groups(X, C, best, [&](index_t r, index_t j, index_t width, LaneBest* lanes) {
      int8_micro_tile(X.data() + r * groups, groups, X.steps() + r, C.panels.data() + j * groups, C.step.data() + j,
                      C.offset.data() + j, add + j, j, width, tile + r * ld + j, ld, lanes);
    });
  }
}

}  // namespace shoal::kmeans::detail
