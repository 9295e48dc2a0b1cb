#include "kmeans/assign_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/blas.hpp"
#include "core/check.hpp"
#include "distance/distance.hpp"

namespace shoal::kmeans::detail {
namespace {

using shoal::detail::gemm_abt;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr index_t kTileFloats = 1 << 17;  // 512 KiB of distances per thread: stays in L2
constexpr index_t kSumBlock = 4096;       // rows per partial sum of ordered_weighted_sum

struct BestTwo {
  float first;
  float second;
};

/// The smallest and second smallest of v[0..k) (the second equals the first on a tie).
/// Sixteen independent lanes let the compiler vectorise; built for AVX-512, AVX2 and baseline.
__attribute__((target_clones("avx512f", "avx2", "default")))
BestTwo best_two(const float* v, index_t k) {
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
    m2[l] = std::min(m2[l], std::max(m1[l], v[j]));
    m1[l] = std::min(m1[l], v[j]);
  }
  int lowest = 0;
  for (int l = 1; l < kLanes; ++l) {
    if (m1[l] < m1[lowest]) lowest = l;
  }
  float second = kInf;
  for (int l = 0; l < kLanes; ++l) second = std::min(second, l == lowest ? m2[l] : std::min(m1[l], m2[l]));
  return {m1[lowest], second};
}

double exact_sq_distance(const float* x, const float* c, index_t d) {
  double sum = 0.0;
  for (index_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(x[j]) - c[j];
    sum += diff * diff;
  }
  return sum;
}

/// The nearest row of C to x in double precision, ties to the lowest index.
std::int32_t exact_nearest(const float* x, MatrixView<const float> C, double& distance) {
  std::int32_t best = 0;
  distance = std::numeric_limits<double>::infinity();
  for (index_t c = 0; c < C.rows(); ++c) {
    const double dist = exact_sq_distance(x, C.row(c), C.cols());
    if (dist < distance) {
      distance = dist;
      best = static_cast<std::int32_t>(c);
    }
  }
  return best;
}

class CpuLloyd final : public LloydEngine {
 public:
  CpuLloyd(const Context& ctx, MatrixView<const float> X, std::span<const float> weights)
      : ctx_(ctx), X_(X), weights_(weights), x_norms_(X.rows()), labels_(X.rows(), -1), distances_(X.rows()) {
    shoal::detail::row_sq_norms<float>(X, x_norms_);
  }

  void reset_labels() override { std::fill(labels_.begin(), labels_.end(), -1); }

  void assign(MatrixView<const float> centroids, bool accumulate, AssignOutput& out) override {
    out.changed = assign_nearest_cpu(ctx_, X_, x_norms_.data(), centroids, labels_.data(), distances_.data());
    out.inertia = ordered_weighted_sum(ctx_, distances_, weights_);
    if (accumulate) accumulate_clusters(centroids.rows(), out);
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
  /// Per-cluster weighted sums in double. Each thread owns a contiguous range of clusters
  /// (balanced by size) and adds its points in index order, so every sum is formed in the
  /// same order whatever the thread count.
  void accumulate_clusters(index_t k, AssignOutput& out) const {
    const index_t n = X_.rows(), d = X_.cols();
    out.sums.assign(k * d, 0.0);
    out.weights.assign(k, 0.0);
    std::vector<index_t> sizes(k, 0);
    for (index_t i = 0; i < n; ++i) {
      ++sizes[labels_[i]];
      out.weights[labels_[i]] += weights_.empty() ? 1.0 : weights_[i];
    }
    // Split the clusters into one contiguous range per thread, each about n / parts points.
    const index_t parts = ctx_.threads();
    std::vector<index_t> bounds(parts + 1, k);
    bounds[0] = 0;
    index_t cumulative = 0, part = 1;
    for (index_t c = 0; c < k && part < parts; ++c) {
      cumulative += sizes[c];
      while (part < parts && cumulative * parts >= part * n) bounds[part++] = c + 1;
    }
#pragma omp parallel for schedule(static, 1) num_threads(parts)
    for (index_t p = 0; p < parts; ++p) {
      const index_t first = bounds[p], last = bounds[p + 1];
      if (first == last) continue;
      for (index_t i = 0; i < n; ++i) {
        const index_t c = labels_[i];
        if (c < first || c >= last) continue;
        const double w = weights_.empty() ? 1.0 : weights_[i];
        double* sum = out.sums.data() + c * d;
        const float* x = X_.row(i);
        for (index_t j = 0; j < d; ++j) sum[j] += w * x[j];
      }
    }
  }

  const Context& ctx_;
  MatrixView<const float> X_;
  std::span<const float> weights_;
  std::vector<float> x_norms_;
  std::vector<std::int32_t> labels_;
  std::vector<double> distances_;
};

}  // namespace

index_t assign_nearest_cpu(const Context& ctx, MatrixView<const float> X, const float* x_norms,
                           MatrixView<const float> C, std::int32_t* labels, double* distances) {
  const index_t n = X.rows(), d = X.cols(), k = C.rows();
  std::vector<float> c_norms(k);
  shoal::detail::row_sq_norms<float>(C, c_norms);
  const float c_norm_max = *std::max_element(c_norms.begin(), c_norms.end());
  // Rounding bound of v_j = ‖c_j‖² − 2·x·c_j from a float GEMM over d terms (≈ (d+2)·u times
  // the magnitudes involved). Two candidates closer than twice it are decided in double.
  const double unit_error = (static_cast<double>(d) + 2.0) * std::ldexp(1.0, -24);
  const index_t block = std::clamp<index_t>(kTileFloats / k, 8, 512);
  const index_t blocks = (n + block - 1) / block;
  index_t changed = 0;
#pragma omp parallel num_threads(ctx.threads()) reduction(+ : changed)
  {
    std::vector<float> tile(block * k);
#pragma omp for schedule(dynamic)
    for (index_t b = 0; b < blocks; ++b) {
      const index_t begin = b * block, rows = std::min(block, n - begin);
      for (index_t r = 0; r < rows; ++r) std::memcpy(tile.data() + r * k, c_norms.data(), sizeof(float) * k);
      gemm_abt(rows, k, d, -2.0f, X.row(begin), X.stride(), C.data(), C.stride(), 1.0f, tile.data(), k);
      for (index_t r = 0; r < rows; ++r) {
        const index_t i = begin + r;
        const float* v = tile.data() + r * k;
        const BestTwo best = best_two(v, k);
        const double margin = 2.0 * unit_error * (c_norm_max + 2.0 * std::sqrt(static_cast<double>(x_norms[i]) * c_norm_max));
        std::int32_t label = 0;
        double distance = 0.0;
        if (static_cast<double>(best.second) - best.first > margin) {
          label = static_cast<std::int32_t>(std::find(v, v + k, best.first) - v);
          if (distances != nullptr) distance = exact_sq_distance(X.row(i), C.row(label), d);
        } else {
          label = exact_nearest(X.row(i), C, distance);
        }
        changed += labels[i] != label;
        labels[i] = label;
        if (distances != nullptr) distances[i] = distance;
      }
    }
  }
  return changed;
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
