#include "kmeans/dot_bf16.hpp"

#include <immintrin.h>

#include <cmath>
#include <limits>

#include "core/simd.hpp"

namespace shoal::kmeans::detail {
namespace {

constexpr index_t kPanel = 32;  // centroids per panel: two vectors of 16 lanes

SHOAL_AVX512_BEGIN
/// Writes the bf16 pairs of x − shift (d values, zero-padded to ⌈d/2⌉ pairs) and returns
/// ‖x − shift‖² of the float differences.
__attribute__((target("avx512f,avx512bf16"))) float pack_row(const float* x, const float* shift, index_t d,
                                                            std::uint32_t* out) {
  __m512 sq = _mm512_setzero_ps();
  for (index_t j = 0; j < d; j += 32) {
    const index_t left = d - j;
    const auto low = static_cast<__mmask16>(left >= 16 ? 0xffffu : (1u << left) - 1u);
    const auto high = static_cast<__mmask16>(left >= 32 ? 0xffffu : left > 16 ? (1u << (left - 16)) - 1u : 0u);
    const __m512 a = _mm512_sub_ps(_mm512_maskz_loadu_ps(low, x + j), _mm512_maskz_loadu_ps(low, shift + j));
    const __m512 b =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(high, x + j + 16), _mm512_maskz_loadu_ps(high, shift + j + 16));
    sq = _mm512_fmadd_ps(a, a, sq);
    sq = _mm512_fmadd_ps(b, b, sq);
    const index_t pairs = std::min<index_t>(16, (left + 1) / 2);
    const auto stored = static_cast<__mmask16>(pairs >= 16 ? 0xffffu : (1u << pairs) - 1u);
    _mm512_mask_storeu_epi32(out + j / 2, stored, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(b, a)));
  }
  return _mm512_reduce_add_ps(sq);
}

/// The running two smallest scores of a row per lane (lane l sees the centroids j ≡ l mod 16),
/// and the lowest centroid index holding the smallest.
struct LaneBest {
  __m512 first, second;
  __m512i index;
};

/// Folds 16 scores of centroids `base` + lane into `best`; lanes past `valid` are skipped.
__attribute__((target("avx512f"))) inline void fold(LaneBest& best, __m512 scores, __mmask16 valid, int base) {
  const __mmask16 lower = _mm512_mask_cmp_ps_mask(valid, scores, best.first, _CMP_LT_OQ);
  best.second = _mm512_mask_min_ps(best.second, valid, best.second, _mm512_max_ps(best.first, scores));
  best.first = _mm512_mask_min_ps(best.first, valid, best.first, scores);
  best.index = _mm512_mask_add_epi32(best.index, lower, _mm512_set1_epi32(base),
                                     _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
}

/// One micro-tile: kBf16Height packed rows against one panel, `width` ≤ 32 of its centroids
/// (from `base` on) written as add − 2·dot and folded into the rows' running best.
__attribute__((target("avx512f,avx512bf16"))) void micro_tile(const std::uint32_t* x, index_t pairs,
                                                             const std::uint32_t* panel, const float* add,
                                                             index_t base, index_t width, float* out, index_t ld,
                                                             LaneBest* best) {
  __m512 acc[kBf16Height][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
  for (index_t t = 0; t < pairs; ++t) {
    const auto c0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + t * kPanel));
    const auto c1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + t * kPanel + 16));
#pragma GCC unroll 12
    for (index_t r = 0; r < kBf16Height; ++r) {
      const auto xr = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(x[r * pairs + t])));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], xr, c0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], xr, c1);
    }
  }
  const auto low = static_cast<__mmask16>(width >= 16 ? 0xffffu : (1u << width) - 1u);
  const auto high = static_cast<__mmask16>(width >= 32 ? 0xffffu : width > 16 ? (1u << (width - 16)) - 1u : 0u);
  const __m512 add0 = _mm512_maskz_loadu_ps(low, add), add1 = _mm512_maskz_loadu_ps(high, add + 16);
  const __m512 minus_two = _mm512_set1_ps(-2.0f);
  for (index_t r = 0; r < kBf16Height; ++r) {
    const __m512 s0 = _mm512_fmadd_ps(acc[r][0], minus_two, add0), s1 = _mm512_fmadd_ps(acc[r][1], minus_two, add1);
    _mm512_mask_storeu_ps(out + r * ld, low, s0);
    _mm512_mask_storeu_ps(out + r * ld + 16, high, s1);
    fold(best[r], s0, low, static_cast<int>(base));
    fold(best[r], s1, high, static_cast<int>(base + 16));
  }
}

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

/// bf16_scores: row groups of kBf16Height, each against every panel.
__attribute__((target("avx512f,avx512bf16"))) void scores_avx512(const Bf16Rows& X, const Bf16Centroids& C,
                                                                 const float* add, float* tile, index_t ld,
                                                                 Bf16Best best) {
  const index_t pairs = X.pairs();
  const auto inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  for (index_t r = 0; r < X.rows(); r += kBf16Height) {
    LaneBest lanes[kBf16Height];
    for (LaneBest& lane : lanes) lane = {inf, inf, _mm512_setzero_si512()};
    for (index_t j = 0; j < C.rows; j += kPanel) {
      micro_tile(X.data() + r * pairs, pairs, C.panels.data() + j * pairs, add + j, j, std::min(kPanel, C.rows - j),
                 tile + r * ld + j, ld, lanes);
    }
    for (index_t i = 0; i < kBf16Height; ++i) reduce_lanes(lanes[i], best.first[r + i], best.second[r + i], best.index[r + i]);
  }
}
SHOAL_AVX512_END

}  // namespace

double bf16_dot_error(index_t d) {
  // (1 + 2⁻²⁴)²(1 + 2⁻⁸)² − 1 < 2⁻⁷·1.01 for the two roundings of each factor, and the float
  // sums over products already that large (× 1.01).
  return std::ldexp(1.01, -7) + 2.0 * (static_cast<double>(d) + 2.0) * std::ldexp(1.01, -24);
}

double bf16_flush_error(index_t d, double norm) {
  // A flushed factor is below 2⁻¹²⁶ and its partner below the norm; d of them, both sides.
  return 2.0 * static_cast<double>(d) * std::ldexp(1.0, -126) * (norm + 1.0);
}

Bf16Centroids::Bf16Centroids(MatrixView<const float> C, std::span<const float> shift)
    : rows(C.rows()), pairs((C.cols() + 1) / 2) {
  const index_t panel_count = (rows + kPanel - 1) / kPanel;
  panels.assign(static_cast<std::size_t>(panel_count * pairs * kPanel), 0u);
  std::vector<std::uint32_t> row(static_cast<std::size_t>(pairs));
  for (index_t j = 0; j < rows; ++j) {
    pack_row(C.row(j), shift.data(), C.cols(), row.data());
    std::uint32_t* panel = panels.data() + (j / kPanel) * pairs * kPanel + j % kPanel;
    for (index_t t = 0; t < pairs; ++t) panel[t * kPanel] = row[t];
  }
}

void Bf16Rows::pack(const float* X, index_t stride, index_t count, index_t d, const float* shift, float* norms) {
  pairs_ = (d + 1) / 2;
  rows_ = (count + kBf16Height - 1) / kBf16Height * kBf16Height;
  packed_.resize(static_cast<std::size_t>(rows_ * pairs_));
  for (index_t r = 0; r < count; ++r) norms[r] = pack_row(X + r * stride, shift, d, packed_.data() + r * pairs_);
  std::fill(packed_.begin() + count * pairs_, packed_.end(), 0u);
}

void bf16_scores(const Bf16Rows& X, const Bf16Centroids& C, const float* add, float* tile, index_t ld,
                 Bf16Best best) {
  scores_avx512(X, C, add, tile, ld, best);
}

}  // namespace shoal::kmeans::detail
