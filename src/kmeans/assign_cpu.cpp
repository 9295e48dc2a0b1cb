#include "kmeans/assign_cpu.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>

#include "core/blas.hpp"
#include "core/check.hpp"
#include "core/conditioning.hpp"
#include "core/simd.hpp"
#include "distance/distance.hpp"
#include "kmeans/low_precision.hpp"

namespace shoal::kmeans::detail {
namespace {

using shoal::detail::exact_sq_distance;
using shoal::detail::gemm_abt;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr index_t kTileFloats = 1 << 16;  // 256 KiB of distances per thread: stays in L2
constexpr index_t kSumBlock = 4096;       // rows per partial sum of ordered_weighted_sum
constexpr index_t kBoundBlock = 4096;     // points of the bounded pass between two centroid-sum updates
constexpr index_t kBoundSample = 64;      // one point in this many tries the bounds before a pass
constexpr index_t kMaxHalfGapK = 2048;    // the k × k half-gap test is skipped above this k
constexpr index_t kFastMovers = 4;        // centroids measured exactly when Hamerly's bound fails
// int8 scores are used where their rounding bound is at most this many times bf16's (see
// Centroids). Measured (10 iterations, 2 threads): int8 was faster at ratios 1.8 to 2.1
// (blobs at d = 64, binary data at d = 200) and bf16 at 2.6 (sparse data, d = 300).
constexpr double kInt8Tolerance = 2.3;
// Centroid sums: up to kSumRuns runs of points (each at least kMinSumRunRows, all partial
// sums within kSumRunBytes) with their own partial sums, fixed by n, k and d so that results
// do not depend on the thread count.
constexpr index_t kSumRuns = 64;
constexpr index_t kMinSumRunRows = 4096;
constexpr index_t kSumRunBytes = index_t{64} << 20;
// Relative slack of every bound test: far above double rounding, far below any real gap.
constexpr double kBoundSlack = 1e-9;

struct BestTwo {
  float first;    // smallest value
  float second;   // second smallest (equal to first on a tie)
  index_t index;  // lowest index holding the smallest value
};

/// Combines per-lane smallest (m1) and second smallest (m2) values into the overall two.
template <int kLanes>
std::pair<float, float> combine_lanes(const float* m1, const float* m2) {
  int lowest = 0;
  for (int l = 1; l < kLanes; ++l) {
    if (m1[l] < m1[lowest]) lowest = l;
  }
  float second = kInf;
  for (int l = 0; l < kLanes; ++l) second = std::min(second, l == lowest ? m2[l] : std::min(m1[l], m2[l]));
  return {m1[lowest], second};
}

SHOAL_AVX512_BEGIN
/// best_two on AVX-512: sixteen lanes of running (smallest, second smallest), then a masked
/// equality scan for the first position of the smallest.
__attribute__((target("avx512f"))) BestTwo best_two_avx512(const float* v, index_t k) {
  const __m512 inf = _mm512_set1_ps(kInf);
  __m512 m1 = inf, m2 = inf;
  index_t j = 0;
  for (; j + 16 <= k; j += 16) {
    const __m512 x = _mm512_loadu_ps(v + j);
    m2 = _mm512_min_ps(m2, _mm512_max_ps(m1, x));
    m1 = _mm512_min_ps(m1, x);
  }
  const __mmask16 tail = shoal::detail::first_lanes(k - j);
  if (tail != 0) {
    const __m512 x = _mm512_mask_loadu_ps(inf, tail, v + j);
    m2 = _mm512_min_ps(m2, _mm512_max_ps(m1, x));
    m1 = _mm512_min_ps(m1, x);
  }
  // The smallest over the lanes; the second smallest is the smallest of the lanes' seconds and
  // of the other lanes' firsts (the first itself again if two lanes hold it).
  const float first = _mm512_reduce_min_ps(m1);
  const __mmask16 at_first = _mm512_cmp_ps_mask(m1, _mm512_set1_ps(first), _CMP_EQ_OQ);
  const float second =
      (at_first & (at_first - 1)) != 0
          ? first
          : std::min(_mm512_reduce_min_ps(m2), _mm512_reduce_min_ps(_mm512_mask_blend_ps(at_first, m1, inf)));
  const __m512 target = _mm512_set1_ps(first);
  for (j = 0; j < k; j += 16) {
    const __mmask16 valid = shoal::detail::first_lanes(k - j);
    const __m512 x = _mm512_maskz_loadu_ps(valid, v + j);
    const __mmask16 hit = _mm512_mask_cmp_ps_mask(valid, x, target, _CMP_EQ_OQ);
    if (hit != 0) return {first, second, j + __builtin_ctz(hit)};
  }
  return {first, second, 0};
}

/// Appends the positions j < k with v[j] ≤ limit to `out`, in increasing order.
__attribute__((target("avx512f"))) void at_most_avx512(const float* v, index_t k, float limit,
                                                      std::vector<index_t>& out) {
  const __m512 bound = _mm512_set1_ps(limit);
  for (index_t j = 0; j < k; j += 16) {
    const __mmask16 valid = shoal::detail::first_lanes(k - j);
    for (auto hit = static_cast<unsigned>(_mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, v + j), bound,
                                                                   _CMP_LE_OQ));
         hit != 0; hit &= hit - 1) {
      out.push_back(j + __builtin_ctz(hit));
    }
  }
}
SHOAL_AVX512_END

void at_most(const float* v, index_t k, float limit, std::vector<index_t>& out) {
  if (shoal::detail::kHasAvx512) return at_most_avx512(v, k, limit, out);
  for (index_t j = 0; j < k; ++j) {
    if (v[j] <= limit) out.push_back(j);
  }
}

/// best_two for any x86-64: sixteen independent lanes the compiler can vectorise, then a scan.
BestTwo best_two_portable(const float* v, index_t k) {
  constexpr int kLanes = 16;
  float m1[kLanes], m2[kLanes];
  for (int l = 0; l < kLanes; ++l) m1[l] = m2[l] = kInf;
  index_t j = 0;
  for (; j + kLanes <= k; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float x = v[j + l];
      m2[l] = std::min(m2[l], std::max(m1[l], x));
      m1[l] = std::min(m1[l], x);
    }
  }
  for (int l = 0; j < k; ++j, ++l) {
    const float x = v[j];
    m2[l] = std::min(m2[l], std::max(m1[l], x));
    m1[l] = std::min(m1[l], x);
  }
  const auto [first, second] = combine_lanes<kLanes>(m1, m2);
  index_t at = 0;
  while (v[at] != first) ++at;
  return {first, second, at};
}

/// The two smallest values of v[j] over j < k, and where the smallest first occurs.
BestTwo best_two(const float* v, index_t k) {
  return shoal::detail::kHasAvx512 ? best_two_avx512(v, k) : best_two_portable(v, k);
}

/// sum[j] += w·x[j] in double (w = 1 without weights).
__attribute__((target_clones("avx512f", "avx2", "default")))
void add_row(double* sum, const float* x, index_t d, double w) {
  for (index_t j = 0; j < d; ++j) sum[j] += w * x[j];
}

/// What assigning one row found.
struct RowResult {
  std::int32_t label = 0;
  double distance = 0.0;  // ‖x − c_label‖², exact in double
  double second = 0.0;    // lower bound on ‖x − c_j‖ over j ≠ label
};

/// The centroids as one assignment pass needs them. Scores v_j = ‖c_j − μ‖² − 2·(x − μ)·(c_j − μ)
/// order the centroids as ‖x − c_j‖² does (it is v_j + ‖x − μ‖²). Where the CPU has AVX-512
/// BF16 or VNNI they come from low-precision dot products of rows centred on the data's column
/// means μ (centring keeps the rounding, relative to ‖x − μ‖·‖c − μ‖, small): 8-bit integers
/// where their rounding bound, on a sample of the rows, is at most kInt8Tolerance times that
/// of bf16 (the int8 kernel runs up to 1.8× faster, but a looser bound sends more rows to the
/// exact check), else bf16. Elsewhere from a float SGEMM with μ = 0.
struct Centroids {
  /// `mu`: μ, or empty for the SGEMM path; `sample`: rows of the data to choose the precision.
  Centroids(MatrixView<const float> C, std::span<const float> mu, MatrixView<const float> sample,
            Scoring scoring = Scoring::Auto)
      : view(C), norms(C.rows()) {
    const bool int8 = shoal::detail::kHasAvx512Vnni && C.cols() <= kInt8MaxDims;
    const bool bf16 = shoal::detail::kHasAvx512Bf16;
    if (mu.empty() || scoring == Scoring::Float || (scoring == Scoring::Auto && !int8 && !bf16)) {
      shoal::detail::row_sq_norms<float>(C, norms);
      norm_max = *std::max_element(norms.begin(), norms.end());
      return;
    }
    centre = mu;
    for (index_t j = 0; j < C.rows(); ++j) {
      double sum = 0.0;
      for (index_t i = 0; i < C.cols(); ++i) {
        const double diff = static_cast<double>(C(j, i) - centre[i]);
        sum += diff * diff;
      }
      norms[j] = static_cast<float>(sum);
    }
    norm_max = *std::max_element(norms.begin(), norms.end());
    if (scoring == Scoring::Int8 || (scoring == Scoring::Auto && int8)) {
      SHOAL_EXPECTS(int8, "this CPU has no AVX-512 VNNI, or d is above ", kInt8MaxDims);
      low.emplace(Precision::Int8, C, centre);
      if (scoring == Scoring::Int8 || !bf16 || int8_pays(sample)) return;
    }
    SHOAL_EXPECTS(bf16, "this CPU has no AVX-512 BF16");
    low.emplace(Precision::Bf16, C, centre);
  }

  /// A bound on |computed v_j − v_j| for a row with ‖x − μ‖² = x_norm (as computed), and its
  /// side on the int8 path.
  [[nodiscard]] double error(double x_norm, const Int8Side& side) const {
    const auto d = static_cast<double>(view.cols());
    const double product = std::sqrt(x_norm * norm_max);
    if (!low) return (d + 2.0) * 0x1p-24 * (norm_max + 2.0 * product);  // float GEMM over d terms
    // The norms: float differences and a float result, (d + 3)·2⁻²⁴ at most; the dot product
    // twice, with both norms taken as computed in float sums (d + 2)·2⁻²⁴ low.
    const double slack = 1.0 + (d + 3.0) * 0x1p-23;
    const double norms_error = (d + 3.0) * 0x1p-24 * norm_max;
    if (low->precision == Precision::Bf16) {
      return norms_error + 2.0 * (bf16_dot_error(view.cols()) * product * slack +
                                  bf16_flush_error(view.cols(), std::sqrt(std::max<double>(x_norm, norm_max)) * slack));
    }
    // The float epilogue: the quantised rows' product (each at most its norm plus √d half
    // steps) and the norm term, rounded four times.
    const double widened = (std::sqrt(x_norm * slack) + std::sqrt(d) * side.step) *
                           (std::sqrt(norm_max * slack) + std::sqrt(d) * low->widest.step);
    return norms_error + 2.0 * int8_dot_error(side, low->widest, product * slack, view.cols()) +
           (2.0 * widened + norm_max) * 0x1p-20;
  }

  MatrixView<const float> view;
  std::span<const float> centre;
  std::optional<LowPrecisionCentroids> low;
  std::vector<float> norms;  // ‖c − μ‖²
  float norm_max = 0.0f;

 private:
  /// Whether the int8 bound, summed over the sample rows, is within kInt8Tolerance of bf16's.
  [[nodiscard]] bool int8_pays(MatrixView<const float> sample) const {
    double int8 = 0.0, bf16 = 0.0;
    for (index_t i = 0; i < sample.rows(); ++i) {
      const float* x = sample.row(i);
      double sq = 0.0, largest = 0.0;
      Int8Side side;
      for (index_t t = 0; t < sample.cols(); ++t) {
        const double diff = std::fabs(static_cast<double>(x[t] - centre[t]));
        sq += diff * diff;
        side.l1 += diff;
        largest = std::max(largest, diff);
      }
      side.step = largest / 127.0;
      const double product = std::sqrt(sq * norm_max);
      int8 += int8_dot_error(side, low->widest, product, sample.cols());
      bf16 += bf16_dot_error(sample.cols()) * product;
    }
    return int8 <= kInt8Tolerance * bf16;
  }
};

/// Rows of X, given by a pointer to the first and a leading dimension.
struct RowBlock {
  const float* data;
  index_t stride;
  index_t rows;
  const float* norms;  // ‖x‖² of each row, for the SGEMM path
  // Per row, a label whose exact distance is already known (saves recomputing it), or null.
  const std::int32_t* known_label = nullptr;
  const double* known_distance = nullptr;
};

/// Per-thread buffers of assign_block.
struct BlockScratch {
  BlockScratch(index_t block, index_t k)
      : tile((block + kLowPrecisionHeight) * k), norms(block + kLowPrecisionHeight),
        first(block + kLowPrecisionHeight), second(block + kLowPrecisionHeight), index(block + kLowPrecisionHeight),
        sides(block + kLowPrecisionHeight) {}
  std::vector<float> tile;   // scores, row by row
  std::vector<float> norms;  // ‖x − μ‖² of the low-precision paths
  std::vector<float> first, second;  // the low-precision paths' best two scores per row
  std::vector<std::int32_t> index;   // and where the best is
  LowPrecisionRows packed;
  std::vector<Int8Side> sides;
  std::vector<index_t> candidates;
};

/// Assigns a block of rows: the scores of the block against all centroids into a tile (one
/// SGEMM, or a low-precision kernel that also keeps each row's best two), then per row the
/// best two scores; rows whose two best are within twice the rounding bound are decided in
/// double over the centroids scored within that bound of the best.
void assign_block(const RowBlock& block, const Centroids& centroids, BlockScratch& scratch, RowResult* out) {
  const MatrixView<const float> C = centroids.view;
  const index_t k = C.rows(), d = C.cols();
  float* tile = scratch.tile.data();
  const float* x_norms = block.norms;
  if (centroids.low) {
    scratch.packed.pack(centroids.low->precision, block.data, block.stride, block.rows, d, centroids.centre.data(),
                        scratch.norms.data(), scratch.sides.data());
    low_precision_scores(scratch.packed, *centroids.low, centroids.norms.data(), tile, k,
                         {scratch.first.data(), scratch.second.data(), scratch.index.data()});
    x_norms = scratch.norms.data();
  } else {
    for (index_t r = 0; r < block.rows; ++r) std::copy_n(centroids.norms.data(), k, tile + r * k);
    gemm_abt(block.rows, k, d, -2.0f, block.data, block.stride, C.data(), C.stride(), 1.0f, tile, k);
  }
  for (index_t r = 0; r < block.rows; ++r) {
    const float* x = block.data + r * block.stride;
    const float* scores = tile + r * k;
    const BestTwo best = centroids.low ? BestTwo{scratch.first[r], scratch.second[r], scratch.index[r]}
                                       : best_two(scores, k);
    const double x_norm = x_norms[r];
    const double error = centroids.error(x_norm, scratch.sides[r]);
    // A lower bound on a distance from a lower bound on its score: ‖x − μ‖² as computed (from
    // float differences, summed in float or double) is within (d + 4)·2⁻²⁴ of itself.
    const double x_norm_floor = x_norm * (1.0 - (static_cast<double>(d) + 4.0) * 0x1p-24);
    const auto distance_floor = [&](double score) { return std::sqrt(std::max(0.0, score + x_norm_floor)); };
    RowResult& result = out[r];
    if (static_cast<double>(best.second) - best.first > 2.0 * error) {
      result.label = static_cast<std::int32_t>(best.index);
      result.distance = block.known_label != nullptr && block.known_label[r] == best.index
                            ? block.known_distance[r]
                            : exact_sq_distance(x, C.row(best.index), d);
      result.second = distance_floor(best.second - error);
      continue;
    }
    // Centroids scored more than 2·error above the best are farther than it: only the others
    // can be nearest, and the rest are at least best + error away.
    scratch.candidates.clear();
    at_most(scores, k, std::nextafter(static_cast<float>(best.first + 2.0 * error), kInf), scratch.candidates);
    double first_sq = std::numeric_limits<double>::infinity(), second_sq = first_sq;
    for (const index_t c : scratch.candidates) {
      const double dist = exact_sq_distance(x, C.row(c), d);
      if (dist < first_sq) {
        second_sq = first_sq;
        first_sq = dist;
        result.label = static_cast<std::int32_t>(c);
      } else if (dist < second_sq) {
        second_sq = dist;
      }
    }
    result.distance = first_sq;
    result.second = std::min(std::sqrt(second_sq), distance_floor(best.first + error));
  }
}

index_t block_rows_for(index_t k) { return std::clamp<index_t>(kTileFloats / k, 8, 1024); }

/// μ of the low-precision scores (the column means), or empty where the SGEMM path runs.
std::vector<float> score_centre(MatrixView<const float> X, Scoring scoring = Scoring::Auto) {
  const bool low = scoring == Scoring::Auto ? shoal::detail::kHasAvx512Bf16 || shoal::detail::kHasAvx512Vnni
                                            : scoring != Scoring::Float;
  return low ? shoal::detail::column_means(X) : std::vector<float>{};
}

/// Every kBoundSample-th row of X.
MatrixView<const float> sample_rows(MatrixView<const float> X) {
  return {X.data(), (X.rows() + kBoundSample - 1) / kBoundSample, X.cols(), X.stride() * kBoundSample};
}

/// assign_nearest_cpu, given the centroids' scoring.
index_t assign_all(const Context& ctx, MatrixView<const float> X, const float* x_norms, const Centroids& centroids,
                   std::int32_t* labels, double* distances, double* second) {
  const index_t n = X.rows();
  const index_t block = block_rows_for(centroids.view.rows());
  const index_t blocks = (n + block - 1) / block;
  index_t changed = 0;
#pragma omp parallel num_threads(ctx.threads()) reduction(+ : changed)
  {
    BlockScratch scratch(block, centroids.view.rows());
    std::vector<RowResult> results(block);
#pragma omp for schedule(dynamic)
    for (index_t b = 0; b < blocks; ++b) {
      const index_t begin = b * block, rows = std::min(block, n - begin);
      assign_block({X.row(begin), X.stride(), rows, x_norms + begin}, centroids, scratch, results.data());
      for (index_t r = 0; r < rows; ++r) {
        const index_t i = begin + r;
        changed += labels[i] != results[r].label;
        labels[i] = results[r].label;
        if (distances != nullptr) distances[i] = results[r].distance;
        if (second != nullptr) second[i] = results[r].second;
      }
    }
  }
  return changed;
}

class CpuLloyd final : public LloydEngine {
 public:
  CpuLloyd(const Context& ctx, MatrixView<const float> X, std::span<const float> weights)
      : ctx_(ctx), X_(X), weights_(weights), centre_(score_centre(X)), x_norms_(X.rows()), labels_(X.rows(), -1),
        distances_(X.rows()), second_(X.rows()) {
    shoal::detail::row_sq_norms<float>(X, x_norms_);
  }

  void reset_labels() override {
    std::fill(labels_.begin(), labels_.end(), -1);
    bounds_valid_ = false;
  }

  void assign(MatrixView<const float> centroids, bool accumulate, AssignOutput& out) override {
    const index_t k = centroids.rows();
    partial_sums_.assign(accumulate ? sum_runs(k).count * (k * X_.cols() + k) : 0, 0.0);
    const std::optional<BoundTest> test = bound_test(centroids);
    out.changed = assign_pass(centroids, test ? &*test : nullptr, accumulate);
    previous_ = Matrix<float>(centroids.rows(), centroids.cols());
    for (index_t c = 0; c < centroids.rows(); ++c) std::copy_n(centroids.row(c), centroids.cols(), previous_.row(c));
    bounds_valid_ = true;
    out.inertia = ordered_weighted_sum(ctx_, distances_, weights_);
    if (accumulate) merge_sums(k, out);
  }

  double inertia(MatrixView<const float> centroids) override {
    const index_t n = X_.rows();
#pragma omp parallel for num_threads(ctx_.threads())
    for (index_t i = 0; i < n; ++i) distances_[i] = exact_sq_distance(X_.row(i), centroids.row(labels_[i]), X_.cols());
    return ordered_weighted_sum(ctx_, distances_, weights_);
  }

  std::vector<index_t> farthest(index_t count) override { return farthest_points(distances_, count); }

  std::span<const std::int32_t> labels() override { return labels_; }

 private:
  /// Hamerly's test with the exact distance to the own centroid: a point keeps its label when
  /// that distance is below both half the gap from its centroid to the nearest other centroid
  /// and its lower bound on the second-nearest distance, lowered by how far the other
  /// centroids moved.
  class BoundTest {
   public:
    BoundTest(MatrixView<const float> C, std::vector<double> moved, std::vector<double> half_gap)
        : C_(C), moved_(std::move(moved)), half_gap_(std::move(half_gap)), by_movement_(C.rows()) {
      // Centroids by decreasing movement. The first kFastMovers are measured exactly when the
      // plain bound fails; the rest lower the bound by their largest movement. Two more give,
      // for any own centroid, the largest movement among the others.
      const index_t k = C.rows();
      std::iota(by_movement_.begin(), by_movement_.end(), index_t{0});
      ranked_ = std::min(k, kFastMovers + 2);
      std::partial_sort(by_movement_.begin(), by_movement_.begin() + ranked_, by_movement_.end(),
                        [&](index_t a, index_t b) { return moved_[a] != moved_[b] ? moved_[a] > moved_[b] : a < b; });
      fast_ = std::min(kFastMovers, k - 1);
    }

    /// The new lower bound on the second-nearest distance of x, if the test proves that its
    /// nearest centroid is still `label` (at exact squared distance `own`).
    [[nodiscard]] std::optional<double> proven(const float* x, std::int32_t label, double own, double second) const {
      const double u = std::sqrt(own) / (1.0 - kBoundSlack);
      // Hamerly: every other centroid moved at most the largest movement among them.
      const double plain = second - largest_from(0, label);
      if (u < std::max(half_gap_[label], plain)) return plain;
      // Sharper: the slow centroids moved at most the largest slow movement, and the fast
      // ones are measured.
      double sharper = second - largest_from(fast_, label);
      for (index_t r = 0; r < fast_ && sharper > u; ++r) {
        const index_t c = by_movement_[r];
        if (c != label) {
          sharper = std::min(sharper, std::sqrt(exact_sq_distance(x, C_.row(c), C_.cols())) * (1.0 - kBoundSlack));
        }
      }
      if (u < std::max(half_gap_[label], sharper)) return sharper;
      return std::nullopt;
    }

   private:
    /// The largest movement among the centroids from `from` on in by_movement, other than `own`.
    [[nodiscard]] double largest_from(index_t from, index_t own) const {
      for (index_t r = from; r < ranked_; ++r) {
        if (by_movement_[r] != own) return moved_[by_movement_[r]];
      }
      return 0.0;
    }

    MatrixView<const float> C_;
    std::vector<double> moved_, half_gap_;
    std::vector<index_t> by_movement_;
    index_t ranked_ = 0, fast_ = 0;
  };

  /// The bound test for centroids C, or nothing where it fails for most of a sample of the
  /// points (centroids still moving far): a full pass is cheaper then.
  [[nodiscard]] std::optional<BoundTest> bound_test(MatrixView<const float> C) const {
    if (!bounds_valid_) return std::nullopt;
    std::optional<BoundTest> test(std::in_place, C, movements(C), half_gaps(C));
    index_t sampled = 0, failed = 0;
    for (index_t i = 0; i < X_.rows(); i += kBoundSample, ++sampled) {
      const std::int32_t label = labels_[i];
      const float* x = X_.row(i);
      failed += !test->proven(x, label, exact_sq_distance(x, C.row(label), C.cols()), second_[i]).has_value();
    }
    if (2 * failed > sampled) test.reset();
    return test;
  }

  /// One assignment pass in runs of points (see SumRuns). With a bound test, the points it
  /// cannot prove go through the scoring path, gathered into blocks; without, all do. With
  /// `accumulate`, the points are added to their run's partial sums a block at a time, while
  /// the block's rows are still in cache. Returns how many labels changed.
  index_t assign_pass(MatrixView<const float> C, const BoundTest* test, bool accumulate) {
    const index_t d = X_.cols(), k = C.rows();
    const Centroids centroids(C, centre_, sample_rows(X_));
    const index_t block = block_rows_for(k);
    const SumRuns runs = sum_runs(k);
    index_t changed = 0;
#pragma omp parallel num_threads(ctx_.threads()) reduction(+ : changed)
    {
      BlockScratch scratch(block, k);
      std::vector<float> gathered(block * d), gathered_norms(block);
      std::vector<std::int32_t> gathered_labels(block);
      std::vector<double> gathered_distances(block);
      std::vector<index_t> rows;
      std::vector<RowResult> results(block);
      const auto store = [&](index_t i, const RowResult& result) {
        changed += labels_[i] != result.label;
        labels_[i] = result.label;
        distances_[i] = result.distance;
        second_[i] = result.second;
      };
      const auto flush = [&] {
        assign_block({gathered.data(), d, static_cast<index_t>(rows.size()), gathered_norms.data(),
                      gathered_labels.data(), gathered_distances.data()},
                     centroids, scratch, results.data());
        for (std::size_t r = 0; r < rows.size(); ++r) store(rows[r], results[r]);
        rows.clear();
      };
#pragma omp for schedule(dynamic)
      for (index_t run = 0; run < runs.count; ++run) {
        for (index_t begin = runs.begin(run); begin < runs.end(run); begin += kBoundBlock) {
          const index_t end = std::min(runs.end(run), begin + kBoundBlock);
          for (index_t first = begin; test == nullptr && first < end; first += block) {
            const index_t count = std::min(block, end - first);
            assign_block({X_.row(first), X_.stride(), count, x_norms_.data() + first}, centroids, scratch,
                         results.data());
            for (index_t r = 0; r < count; ++r) store(first + r, results[r]);
          }
          for (index_t i = begin; test != nullptr && i < end; ++i) {
            const float* x = X_.row(i);
            const std::int32_t label = labels_[i];
            const double own = exact_sq_distance(x, C.row(label), d);
            distances_[i] = own;
            if (const std::optional<double> second = test->proven(x, label, own, second_[i])) {
              second_[i] = *second;
              continue;
            }
            std::copy_n(x, d, gathered.data() + static_cast<index_t>(rows.size()) * d);
            gathered_norms[rows.size()] = x_norms_[i];
            gathered_labels[rows.size()] = label;
            gathered_distances[rows.size()] = own;
            rows.push_back(i);
            if (static_cast<index_t>(rows.size()) == block) flush();
          }
          if (!rows.empty()) flush();
          if (accumulate) add_points(run, k, begin, end);
        }
      }
    }
    return changed;
  }

  /// How far each centroid moved since the last pass, rounded up.
  std::vector<double> movements(MatrixView<const float> C) const {
    std::vector<double> moved(C.rows());
    for (index_t c = 0; c < C.rows(); ++c) {
      moved[c] = std::sqrt(exact_sq_distance(C.row(c), previous_.row(c), C.cols())) * (1.0 + kBoundSlack);
    }
    return moved;
  }

  /// Half the distance from each centroid to its nearest other centroid, rounded down
  /// (infinite when k = 1): a point closer than that to its centroid is closer to it than to
  /// any other. Zero (no test) above kMaxHalfGapK centroids, where the k² distances would
  /// cost more than they save.
  std::vector<double> half_gaps(MatrixView<const float> C) const {
    const index_t k = C.rows();
    std::vector<double> gap(k, k == 1 ? std::numeric_limits<double>::infinity() : 0.0);
    if (k == 1 || k > kMaxHalfGapK) return gap;
#pragma omp parallel for schedule(dynamic) num_threads(ctx_.threads())
    for (index_t a = 0; a < k; ++a) {
      double nearest = std::numeric_limits<double>::infinity();
      for (index_t b = 0; b < k; ++b) {
        if (b != a) nearest = std::min(nearest, exact_sq_distance(C.row(a), C.row(b), C.cols()));
      }
      gap[a] = 0.5 * std::sqrt(nearest) * (1.0 - kBoundSlack);
    }
    return gap;
  }

  /// The runs of points with partial centroid sums of their own: at most kSumRuns, fixed by n,
  /// k and d alone. Each run is summed in index order and the partials are added in run order,
  /// so the sums do not depend on the thread count.
  struct SumRuns {
    index_t count, rows, n;
    [[nodiscard]] index_t begin(index_t run) const { return std::min(n, run * rows); }
    [[nodiscard]] index_t end(index_t run) const { return std::min(n, (run + 1) * rows); }
  };
  [[nodiscard]] SumRuns sum_runs(index_t k) const {
    const index_t n = X_.rows(), d = X_.cols();
    const index_t affordable = std::max<index_t>(1, kSumRunBytes / static_cast<index_t>(sizeof(double) * (k * d + k)));
    const index_t count = std::clamp<index_t>(std::min(n / kMinSumRunRows, affordable), 1, kSumRuns);
    return {count, (n + count - 1) / count, n};
  }

  /// Adds points [begin, end) of `run`, weighted, to the run's partial sums.
  void add_points(index_t run, index_t k, index_t begin, index_t end) {
    const index_t d = X_.cols();
    double* sums = partial_sums_.data() + run * (k * d + k);
    double* weights = sums + k * d;
    for (index_t i = begin; i < end; ++i) {
      const index_t c = labels_[i];
      const double w = weights_.empty() ? 1.0 : weights_[i];
      add_row(sums + c * d, X_.row(i), d, w);
      weights[c] += w;
    }
  }

  /// The per-cluster weighted sums: the runs' partials, added in run order.
  void merge_sums(index_t k, AssignOutput& out) const {
    const index_t d = X_.cols(), count = sum_runs(k).count;
    out.sums.assign(k * d, 0.0);
    out.weights.assign(k, 0.0);
    for (index_t run = 0; run < count; ++run) {
      const double* sums = partial_sums_.data() + run * (k * d + k);
      for (index_t j = 0; j < k * d; ++j) out.sums[j] += sums[j];
      for (index_t c = 0; c < k; ++c) out.weights[c] += sums[k * d + c];
    }
  }

  const Context& ctx_;
  MatrixView<const float> X_;
  std::span<const float> weights_;
  std::vector<float> centre_;  // μ of the scores
  std::vector<float> x_norms_;
  std::vector<std::int32_t> labels_;
  std::vector<double> distances_;  // ‖x − c_label‖² of the last pass
  std::vector<double> second_;     // lower bound on the distance to the second-nearest centroid
  Matrix<float> previous_;         // centroids of the last pass
  bool bounds_valid_ = false;
  std::vector<double> partial_sums_;  // accumulate_clusters: per run of points, k × d sums then k weights
};

}  // namespace

index_t assign_nearest_cpu(const Context& ctx, MatrixView<const float> X, const float* x_norms,
                           MatrixView<const float> C, std::int32_t* labels, double* distances, double* second,
                           Scoring scoring) {
  const std::vector<float> centre = score_centre(X, scoring);
  return assign_all(ctx, X, x_norms, Centroids(C, centre, sample_rows(X), scoring), labels, distances, second);
}

double ordered_weighted_sum(const Context& ctx, std::span<const double> values, std::span<const float> weights) {
  const auto n = static_cast<index_t>(values.size());
  const index_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(blocks, 0.0);
#pragma omp parallel for num_threads(ctx.threads())
  for (index_t b = 0; b < blocks; ++b) {
    double sum = 0.0;
    for (index_t i = b * kSumBlock; i < std::min(n, (b + 1) * kSumBlock); ++i) {
      sum += values[i] * (weights.empty() ? 1.0 : static_cast<double>(weights[i]));
    }
    partial[b] = sum;
  }
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

std::unique_ptr<LloydEngine> make_cpu_engine(const Context& ctx, MatrixView<const float> X,
                                             std::span<const float> weights) {
  return std::make_unique<CpuLloyd>(ctx, X, weights);
}

}  // namespace shoal::kmeans::detail
