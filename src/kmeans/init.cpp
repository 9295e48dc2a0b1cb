#include "kmeans/init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/check.hpp"
#include "core/conditioning.hpp"
#include "core/random.hpp"
#include "distance/distance.hpp"
#include "kmeans/assign_cpu.hpp"

namespace shoal::kmeans::detail {
namespace {

using shoal::detail::philox4x32;
using shoal::detail::Rng;

constexpr index_t kBlock = 1024;  // rows per block of the potential: fixed, for determinism
constexpr index_t kFewCentres = 16;  // more new centres at once go through the assignment
constexpr std::uint64_t kPerPointStreams = std::uint64_t{1} << 63;

double weight_of(std::span<const float> weights, index_t i) { return weights.empty() ? 1.0 : weights[i]; }

/// w·D² of every point to its closest chosen centre, with per-block sums that sampling and the
/// potential read in block order. D² comes from float GEMM tiles (‖x‖² + ‖c‖² − 2x·c), so
/// the points are first centred and scaled by a power of two to coordinates below 2: far
/// from the origin that form loses small distances to rounding, and tiny or huge coordinates
/// would underflow or overflow. Sampling by D² is the same either way (D² only scales).
class Potential {
 public:
  Potential(const Context& ctx, MatrixView<const float> X, std::span<const float> weights)
      : ctx_(ctx), shift_(shoal::detail::column_means(X)), weights_(weights), x_norms_(X.rows()),
        closest_(X.rows(), std::numeric_limits<float>::infinity()), block_sums_((X.rows() + kBlock - 1) / kBlock) {
    const float largest = shoal::detail::largest_magnitude(X, shift_);
    exponent_ = largest > 0.0f ? -std::ilogb(largest) : 0;
    X_ = conditioned(X);
    shoal::detail::row_sq_norms<float>(X_, x_norms_);
  }

  /// closest = min(closest, D²(x, c)) over the rows c of `centres` (rows of the caller's X).
  /// Many centres at once (k-means||'s rounds) go through the nearest-centroid assignment,
  /// whose low-precision scores and exact checks beat a float GEMM of every distance.
  void add_centres(MatrixView<const float> original) {
    const Matrix<float> centres = conditioned(original);
    const index_t m = centres.rows();
    if (m > kFewCentres) {
      std::vector<std::int32_t> nearest(X_.rows(), -1);
      std::vector<double> distances(X_.rows());
      assign_nearest_cpu(ctx_, X_, x_norms_.data(), centres, nearest.data(), distances.data());
      lower_closest([&](index_t i) { return static_cast<float>(distances[i]); });
      return;
    }
    for_each_block(centres, [&](index_t b, index_t begin, index_t rows, const float* tile) {
      double sum = 0.0;
      for (index_t r = 0; r < rows; ++r) {
        float& closest = closest_[begin + r];
        float nearest = closest;
#pragma omp simd reduction(min : nearest)
        for (index_t t = 0; t < m; ++t) nearest = std::min(nearest, tile[r * m + t]);
        closest = nearest;
        sum += weight_of(weights_, begin + r) * closest;
      }
      block_sums_[b] = sum;
    });
  }

  /// Σ w·min(closest, D²(x, c)) for each row c of `candidates`, without adding them; keeps
  /// the D² for add_candidate.
  std::vector<double> potentials_with(MatrixView<const float> original) {
    const Matrix<float> candidates = conditioned(original);
    const index_t m = candidates.rows();
    std::vector<double> partial(blocks() * m, 0.0);
    candidate_d2_.resize(static_cast<std::size_t>(X_.rows() * m));
    for_each_block(candidates, [&](index_t b, index_t begin, index_t rows, const float* tile) {
      for (index_t r = 0; r < rows; ++r) {
        const double w = weight_of(weights_, begin + r);
        for (index_t t = 0; t < m; ++t) partial[b * m + t] += w * std::min(closest_[begin + r], tile[r * m + t]);
      }
    }, candidate_d2_.data());
    std::vector<double> total(m, 0.0);
    for (index_t b = 0; b < blocks(); ++b) {
      for (index_t t = 0; t < m; ++t) total[t] += partial[b * m + t];
    }
    return total;
  }

  /// add_centres with candidate t of the last potentials_with, from the D² it kept: one pass
  /// over the data per step of k-means++ instead of two.
  void add_candidate(index_t t) {
    const index_t m = static_cast<index_t>(candidate_d2_.size()) / X_.rows();
    lower_closest([&](index_t i) { return candidate_d2_[i * m + t]; });
  }

  [[nodiscard]] double total() const { return std::accumulate(block_sums_.begin(), block_sums_.end(), 0.0); }

  /// The first point whose cumulative w·D² exceeds `target` (in [0, total)).
  [[nodiscard]] index_t locate(double target) const {
    index_t b = 0;
    for (; b + 1 < blocks() && target >= block_sums_[b]; ++b) target -= block_sums_[b];
    const index_t begin = b * kBlock, end = std::min(X_.rows(), begin + kBlock);
    index_t last_with_mass = begin;
    for (index_t i = begin; i < end; ++i) {
      const double mass = weight_of(weights_, i) * closest_[i];
      if (mass <= 0.0) continue;
      last_with_mass = i;
      if (target < mass) return i;
      target -= mass;
    }
    return last_with_mass;  // rounding ran past the end of the block
  }

  [[nodiscard]] std::span<const float> closest() const { return closest_; }

 private:
  [[nodiscard]] index_t blocks() const { return static_cast<index_t>(block_sums_.size()); }

  /// closest[i] = min(closest[i], d2(i)) for every point, and the block sums anew.
  template <class D2>
  void lower_closest(const D2& d2) {
#pragma omp parallel for schedule(dynamic) num_threads(ctx_.threads())
    for (index_t b = 0; b < blocks(); ++b) {
      double sum = 0.0;
      for (index_t i = b * kBlock; i < std::min(X_.rows(), (b + 1) * kBlock); ++i) {
        closest_[i] = std::min(closest_[i], d2(i));
        sum += weight_of(weights_, i) * closest_[i];
      }
      block_sums_[b] = sum;
    }
  }

  /// (x − shift)·2^exponent for every row: the same float operations for a point and for a
  /// centre taken from it, so its own D² is exactly 0.
  [[nodiscard]] Matrix<float> conditioned(MatrixView<const float> rows) const {
    return shoal::detail::shifted_scaled(rows, shift_, exponent_);
  }

  /// Calls fn(b, begin, rows, tile) for every block b of rows of X, in parallel, with tile
  /// holding D²(x, c) of the block's rows against every row c of `centres` ([rows × m]); the
  /// tiles are kept in `into` ([n × m]) when it is given.
  template <class Fn>
  void for_each_block(MatrixView<const float> centres, Fn&& fn, float* into = nullptr) const {
    const index_t m = centres.rows();
    std::vector<float> c_norms(m);
    shoal::detail::row_sq_norms<float>(centres, c_norms);
#pragma omp parallel num_threads(ctx_.threads())
    {
      std::vector<float> scratch(into == nullptr ? kBlock * m : 0);
#pragma omp for schedule(dynamic)
      for (index_t b = 0; b < blocks(); ++b) {
        const index_t begin = b * kBlock, rows = std::min(kBlock, X_.rows() - begin);
        float* tile = into == nullptr ? scratch.data() : into + begin * m;
        shoal::detail::sq_l2_tile<float>(X_.view().row_range(begin, begin + rows), x_norms_.data() + begin, centres,
                                         c_norms.data(), tile, m);
        fn(b, begin, rows, tile);
      }
    }
  }

  const Context& ctx_;
  std::vector<float> shift_;  // the mean of X, rounded to float
  int exponent_ = 0;          // the scale 2^exponent
  Matrix<float> X_;           // X conditioned
  std::span<const float> weights_;
  std::vector<float> x_norms_;
  std::vector<float> closest_;
  std::vector<double> block_sums_;
  std::vector<float> candidate_d2_;  // [n × m] of the last potentials_with
};

/// One index drawn with probability ∝ weight.
index_t draw_by_weight(MatrixView<const float> X, std::span<const float> weights, Rng& rng) {
  if (weights.empty()) return static_cast<index_t>(rng.uniform_index(static_cast<std::uint64_t>(X.rows())));
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  double target = rng.uniform() * total;
  index_t last_with_mass = 0;
  for (index_t i = 0; i < X.rows(); ++i) {
    if (weights[i] <= 0.0f) continue;
    last_with_mass = i;
    if (target < weights[i]) return i;
    target -= weights[i];
  }
  return last_with_mass;
}

[[noreturn]] void too_few(index_t found, const char* what, index_t k) {
  throw InvalidArgument(shoal::detail::concat("the data has only ", found, " ", what, ", fewer than k = ", k));
}

void copy_row(MatrixView<const float> from, index_t i, Matrix<float>& to, index_t c) {
  std::copy_n(from.row(i), from.cols(), to.row(c));
}

}  // namespace

Matrix<float> init_plus_plus(const Context& ctx, MatrixView<const float> X, std::span<const float> weights,
                             index_t k, Seeding seeding) {
  Rng rng(seeding.seed, seeding.run);
  Matrix<float> centres(k, X.cols());
  copy_row(X, draw_by_weight(X, weights, rng), centres, 0);
  Potential potential(ctx, X, weights);
  potential.add_centres(centres.view().row_range(0, 1));
  const auto trials = static_cast<index_t>(2 + std::floor(std::log(static_cast<double>(k))));
  Matrix<float> candidates(trials, X.cols());
  std::vector<index_t> candidate_rows(trials);
  for (index_t c = 1; c < k; ++c) {
    const double total = potential.total();
    if (!(total > 0.0)) too_few(c, "distinct points with positive weight", k);
    for (index_t t = 0; t < trials; ++t) {
      candidate_rows[t] = potential.locate(rng.uniform() * total);
      copy_row(X, candidate_rows[t], candidates, t);
    }
    const std::vector<double> with = potential.potentials_with(candidates);
    const index_t best = std::min_element(with.begin(), with.end()) - with.begin();
    copy_row(X, candidate_rows[best], centres, c);
    potential.add_candidate(best);
    ctx.report_progress("init", static_cast<double>(c + 1) / static_cast<double>(k));
  }
  return centres;
}

Matrix<float> init_parallel(const Context& ctx, MatrixView<const float> X, std::span<const float> weights,
                            index_t k, Seeding seeding) {
  constexpr int kRounds = 5;
  const double oversampling = 2.0 * static_cast<double>(k);
  Rng rng(seeding.seed, seeding.run);
  const index_t n = X.rows(), d = X.cols();
  std::vector<index_t> chosen = {draw_by_weight(X, weights, rng)};
  Potential potential(ctx, X, weights);
  Matrix<float> first(1, d);
  copy_row(X, chosen[0], first, 0);
  potential.add_centres(first);

  for (int round = 0; round < kRounds; ++round) {
    const double total = potential.total();
    if (!(total > 0.0)) break;
    // Independent draws keyed by (seed, run, round, point): the same picks for any thread count.
    const std::uint64_t stream = kPerPointStreams | (seeding.run << 8) | static_cast<std::uint64_t>(round);
    const std::span<const float> closest = potential.closest();
    std::vector<index_t> picked;
    for (index_t i = 0; i < n; ++i) {
      const double p = oversampling * weight_of(weights, i) * closest[i] / total;
      if (p <= 0.0) continue;
      const auto block = philox4x32(seeding.seed, stream, static_cast<std::uint64_t>(i));
      const double u = shoal::detail::bits_to_unit((std::uint64_t{block.v[0]} << 32) | block.v[1]);
      if (u < p) picked.push_back(i);
    }
    if (picked.empty()) continue;
    Matrix<float> added(static_cast<index_t>(picked.size()), d);
    for (std::size_t j = 0; j < picked.size(); ++j) copy_row(X, picked[j], added, static_cast<index_t>(j));
    potential.add_centres(added);
    chosen.insert(chosen.end(), picked.begin(), picked.end());
    ctx.report_progress("init", static_cast<double>(round + 1) / (kRounds + 1));
  }
  const auto m = static_cast<index_t>(chosen.size());
  if (m < k) return init_plus_plus(ctx, X, weights, k, seeding);

  // Weigh each candidate by the points nearest to it, then pick k of them by k-means++.
  Matrix<float> candidates(m, d);
  for (index_t j = 0; j < m; ++j) copy_row(X, chosen[j], candidates, j);
  std::vector<float> x_norms(n);
  shoal::detail::row_sq_norms<float>(X, x_norms);
  std::vector<std::int32_t> nearest(n, -1);
  assign_nearest_cpu(ctx, X, x_norms.data(), candidates, nearest.data(), nullptr);
  std::vector<float> candidate_weights(m, 0.0f);
  std::vector<double> sums(m, 0.0);
  for (index_t i = 0; i < n; ++i) sums[nearest[i]] += weight_of(weights, i);
  std::transform(sums.begin(), sums.end(), candidate_weights.begin(), [](double s) { return static_cast<float>(s); });
  return init_plus_plus(ctx, candidates, candidate_weights, k, seeding);
}

Matrix<float> init_random(const Context& ctx, MatrixView<const float> X, std::span<const float> weights,
                          index_t k, Seeding seeding) {
  const index_t n = X.rows();
  // Efraimidis–Spirakis: the k largest keys log(u)/w are a weighted sample without replacement.
  std::vector<double> keys(n);
  const std::uint64_t stream = kPerPointStreams | (seeding.run << 8) | 0xff;
#pragma omp parallel for num_threads(ctx.threads())
  for (index_t i = 0; i < n; ++i) {
    const double w = weight_of(weights, i);
    const auto block = philox4x32(seeding.seed, stream, static_cast<std::uint64_t>(i));
    const double u = (static_cast<double>((std::uint64_t{block.v[0]} << 32 | block.v[1]) >> 11) + 0.5) * 0x1.0p-53;
    keys[i] = w > 0.0 ? shoal::detail::portable_log(u) / w : -std::numeric_limits<double>::infinity();
  }
  const index_t positive = std::count_if(keys.begin(), keys.end(), [](double key) { return std::isfinite(key); });
  if (positive < k) too_few(positive, "points with positive weight", k);
  std::vector<index_t> order(n);
  std::iota(order.begin(), order.end(), index_t{0});
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](index_t a, index_t b) { return keys[a] != keys[b] ? keys[a] > keys[b] : a < b; });
  Matrix<float> centres(k, X.cols());
  for (index_t c = 0; c < k; ++c) copy_row(X, order[c], centres, c);
  return centres;
}

}  // namespace shoal::kmeans::detail
