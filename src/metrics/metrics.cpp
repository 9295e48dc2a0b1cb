// Each score follows scikit-learn's definition and special cases (sklearn/metrics/cluster/),
// so that the two agree to rounding.
#include "shoal/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/check.hpp"
#include "core/random.hpp"
#include "distance/distance.hpp"

namespace shoal::metrics {
namespace {

__extension__ using int128 = __int128;  // pair-count products exceed 64 bits beyond n ≈ 5·10⁴

/// Labels renumbered 0..k−1 in increasing order of value (scikit-learn's LabelEncoder).
struct Encoded {
  std::vector<std::int32_t> ids;
  std::vector<index_t> sizes;
  [[nodiscard]] index_t clusters() const { return static_cast<index_t>(sizes.size()); }
};

Encoded encode(std::span<const std::int32_t> labels) {
  std::vector<std::int32_t> values(labels.begin(), labels.end());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  Encoded encoded;
  encoded.ids.resize(labels.size());
  encoded.sizes.assign(values.size(), 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto id = std::lower_bound(values.begin(), values.end(), labels[i]) - values.begin();
    encoded.ids[i] = static_cast<std::int32_t>(id);
    ++encoded.sizes[id];
  }
  return encoded;
}

void check_pair(std::span<const std::int32_t> truth, std::span<const std::int32_t> predicted) {
  SHOAL_EXPECTS(!truth.empty(), "labels are empty");
  SHOAL_EXPECTS(truth.size() == predicted.size(), "label vectors differ in length: ", truth.size(),
                " and ", predicted.size());
}

/// A non-zero cell of the contingency table of two encoded labelings.
struct Cell {
  std::int32_t row;
  std::int32_t col;
  index_t count;
};

std::vector<Cell> contingency(const Encoded& a, const Encoded& b) {
  std::vector<std::int64_t> keys(a.ids.size());
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = std::int64_t{a.ids[i]} * b.clusters() + b.ids[i];
  std::sort(keys.begin(), keys.end());
  std::vector<Cell> cells;
  for (std::size_t i = 0; i < keys.size();) {
    std::size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    cells.push_back({static_cast<std::int32_t>(keys[i] / b.clusters()),
                     static_cast<std::int32_t>(keys[i] % b.clusters()), static_cast<index_t>(j - i)});
    i = j;
  }
  return cells;
}

double entropy(const Encoded& labels, double n) {
  double sum = 0.0;
  for (const index_t size : labels.sizes) {
    const double p = static_cast<double>(size) / n;
    sum -= p * (std::log(static_cast<double>(size)) - std::log(n));
  }
  return sum;
}

void check_labels_for(MatrixView<const float> X, std::span<const std::int32_t> labels) {
  SHOAL_EXPECTS(X.rows() > 0 && X.cols() > 0, "data are empty (", X.rows(), " x ", X.cols(), ")");
  SHOAL_EXPECTS(static_cast<index_t>(labels.size()) == X.rows(), "there are ", labels.size(),
                " labels for ", X.rows(), " points");
}

/// sklearn's check_number_of_labels.
void check_cluster_count(const Encoded& encoded) {
  const auto n = static_cast<index_t>(encoded.ids.size());
  SHOAL_EXPECTS(encoded.clusters() >= 2 && encoded.clusters() <= n - 1,
                "the score needs between 2 and n - 1 = ", n - 1, " distinct labels, got ",
                encoded.clusters());
}

/// Per-cluster means of the rows, in double.
std::vector<double> cluster_means(MatrixView<const float> X, const Encoded& encoded) {
  const index_t d = X.cols();
  std::vector<double> means(static_cast<std::size_t>(encoded.clusters() * d), 0.0);
  for (index_t i = 0; i < X.rows(); ++i) {
    double* mean = means.data() + encoded.ids[i] * d;
    for (index_t j = 0; j < d; ++j) mean[j] += X(i, j);
  }
  for (index_t c = 0; c < encoded.clusters(); ++c) {
    for (index_t j = 0; j < d; ++j) means[c * d + j] /= static_cast<double>(encoded.sizes[c]);
  }
  return means;
}

double distance_to(const float* x, const double* center, index_t d) {
  double sum = 0.0;
  for (index_t j = 0; j < d; ++j) {
    const double diff = x[j] - center[j];
    sum += diff * diff;
  }
  return sum;
}

}  // namespace

double adjusted_rand_index(std::span<const std::int32_t> truth, std::span<const std::int32_t> predicted) {
  check_pair(truth, predicted);
  const Encoded a = encode(truth), b = encode(predicted);
  // Pair counts as in sklearn's pair_confusion_matrix.
  const auto n = static_cast<int128>(truth.size());
  int128 sum_cells = 0, sum_rows = 0, sum_cols = 0;
  for (const Cell& cell : contingency(a, b)) sum_cells += static_cast<int128>(cell.count) * cell.count;
  for (const index_t size : a.sizes) sum_rows += static_cast<int128>(size) * size;
  for (const index_t size : b.sizes) sum_cols += static_cast<int128>(size) * size;
  const int128 tp = sum_cells - n, fp = sum_cols - sum_cells, fn = sum_rows - sum_cells;
  const int128 tn = n * n - fp - fn - sum_cells;
  if (fn == 0 && fp == 0) return 1.0;
  const int128 numerator = 2 * (tp * tn - fn * fp);
  const int128 denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return static_cast<double>(static_cast<long double>(numerator) / static_cast<long double>(denominator));
}

double normalized_mutual_info(std::span<const std::int32_t> truth, std::span<const std::int32_t> predicted) {
  check_pair(truth, predicted);
  const Encoded a = encode(truth), b = encode(predicted);
  if (a.clusters() == 1 && b.clusters() == 1) return 1.0;
  if (a.clusters() == 1 || b.clusters() == 1) return 0.0;  // no mutual information
  // Mutual information as sklearn's mutual_info_score, term by term.
  const double n = static_cast<double>(truth.size());
  double mi = 0.0;
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  for (const Cell& cell : contingency(a, b)) {
    const double count = static_cast<double>(cell.count);
    const double outer = static_cast<double>(a.sizes[cell.row]) * static_cast<double>(b.sizes[cell.col]);
    const double p = count / n;
    const double term = p * (std::log(count) - std::log(n)) + p * (-std::log(outer) + 2.0 * std::log(n));
    if (std::abs(term) >= kEps) mi += term;
  }
  mi = std::max(mi, 0.0);
  if (mi == 0.0) return 0.0;
  const double normalizer = 0.5 * (entropy(a, n) + entropy(b, n));
  return mi / normalizer;
}

double silhouette_score(const Context& ctx, MatrixView<const float> X, std::span<const std::int32_t> labels,
                        const SilhouetteOptions& options) {
  SHOAL_EXPECTS(options.sample_size >= 0, "silhouette sample size ", options.sample_size, " is negative");
  check_labels_for(X, labels);
  // Beyond sample_size, score a seeded sample against itself (a partial Fisher–Yates shuffle).
  const index_t n = options.sample_size > 0 ? std::min(X.rows(), options.sample_size) : X.rows();
  std::vector<index_t> rows(static_cast<std::size_t>(X.rows()));
  std::iota(rows.begin(), rows.end(), index_t{0});
  if (n < X.rows()) {
    detail::Rng rng(options.seed);
    for (index_t i = 0; i < n; ++i) {
      const index_t pick = i + static_cast<index_t>(rng.uniform_index(static_cast<std::uint64_t>(X.rows() - i)));
      std::swap(rows[i], rows[pick]);
    }
    rows.resize(static_cast<std::size_t>(n));
  }
  const index_t d = X.cols();
  std::vector<double> points(static_cast<std::size_t>(n * d));
  std::vector<std::int32_t> sample_labels(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    std::copy_n(X.row(rows[i]), d, points.begin() + i * d);
    sample_labels[i] = labels[rows[i]];
  }
  const Encoded encoded = encode(sample_labels);
  check_cluster_count(encoded);
  const MatrixView<const double> P(points.data(), n, d);
  std::vector<double> norms(static_cast<std::size_t>(n));
  detail::row_sq_norms<double>(P, norms);

  // Per point, the sum of its distances to each cluster, from tiles of the distance matrix.
  constexpr index_t kTileRows = 64, kTileCols = 2048;
  const index_t k = encoded.clusters();
  std::vector<double> scores(static_cast<std::size_t>(n), 0.0);  // summed in order at the end, for determinism
#pragma omp parallel num_threads(ctx.threads())
  {
    std::vector<double> tile(static_cast<std::size_t>(kTileRows * kTileCols));
    std::vector<double> sums(static_cast<std::size_t>(kTileRows * k));
#pragma omp for schedule(dynamic)
    for (index_t begin = 0; begin < n; begin += kTileRows) {
      const index_t rows_here = std::min(kTileRows, n - begin);
      std::fill(sums.begin(), sums.end(), 0.0);
      for (index_t col = 0; col < n; col += kTileCols) {
        const index_t cols_here = std::min(kTileCols, n - col);
        detail::sq_l2_tile<double>(P.row_range(begin, begin + rows_here), norms.data() + begin,
                                   P.row_range(col, col + cols_here), norms.data() + col, tile.data(),
                                   kTileCols);
        for (index_t i = 0; i < rows_here; ++i) {
          double* point_sums = sums.data() + i * k;
          const double* distances = tile.data() + i * kTileCols;
          for (index_t j = 0; j < cols_here; ++j) {
            if (begin + i != col + j) point_sums[encoded.ids[col + j]] += std::sqrt(distances[j]);
          }
        }
      }
      for (index_t i = 0; i < rows_here; ++i) {
        const std::int32_t own = encoded.ids[begin + i];
        const index_t own_size = encoded.sizes[own];
        if (own_size <= 1) continue;  // a single-point cluster scores 0
        const double* point_sums = sums.data() + i * k;
        const double a = point_sums[own] / static_cast<double>(own_size - 1);
        double b = std::numeric_limits<double>::infinity();
        for (index_t c = 0; c < k; ++c) {
          if (c != own) b = std::min(b, point_sums[c] / static_cast<double>(encoded.sizes[c]));
        }
        const double denominator = std::max(a, b);
        if (denominator > 0.0) scores[begin + i] = (b - a) / denominator;
      }
    }
  }
  return std::accumulate(scores.begin(), scores.end(), 0.0) / static_cast<double>(n);
}

double davies_bouldin_score(MatrixView<const float> X, std::span<const std::int32_t> labels) {
  check_labels_for(X, labels);
  const Encoded encoded = encode(labels);
  check_cluster_count(encoded);
  const index_t d = X.cols(), k = encoded.clusters();
  const std::vector<double> means = cluster_means(X, encoded);
  std::vector<double> spread(static_cast<std::size_t>(k), 0.0);
  for (index_t i = 0; i < X.rows(); ++i) {
    spread[encoded.ids[i]] += std::sqrt(distance_to(X.row(i), means.data() + encoded.ids[i] * d, d));
  }
  for (index_t c = 0; c < k; ++c) spread[c] /= static_cast<double>(encoded.sizes[c]);

  std::vector<double> separation(static_cast<std::size_t>(k * k));
  for (index_t a = 0; a < k; ++a) {
    for (index_t b = 0; b < k; ++b) {
      double sum = 0.0;
      for (index_t j = 0; j < d; ++j) {
        const double diff = means[a * d + j] - means[b * d + j];
        sum += diff * diff;
      }
      separation[a * k + b] = std::sqrt(sum);
    }
  }
  // sklearn returns 0 when all spreads or all centre distances are (close to) zero.
  const auto all_close_to_zero = [](const std::vector<double>& values) {
    return std::all_of(values.begin(), values.end(), [](double v) { return std::abs(v) <= 1e-8; });
  };
  if (all_close_to_zero(spread) || all_close_to_zero(separation)) return 0.0;
  double total = 0.0;
  for (index_t a = 0; a < k; ++a) {
    double worst = 0.0;
    for (index_t b = 0; b < k; ++b) {
      if (separation[a * k + b] > 0.0) worst = std::max(worst, (spread[a] + spread[b]) / separation[a * k + b]);
    }
    total += worst;
  }
  return total / static_cast<double>(k);
}

double calinski_harabasz_score(MatrixView<const float> X, std::span<const std::int32_t> labels) {
  check_labels_for(X, labels);
  const Encoded encoded = encode(labels);
  check_cluster_count(encoded);
  const index_t d = X.cols(), k = encoded.clusters(), n = X.rows();
  const std::vector<double> means = cluster_means(X, encoded);
  std::vector<double> overall(static_cast<std::size_t>(d), 0.0);
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < d; ++j) overall[j] += X(i, j);
  }
  for (double& value : overall) value /= static_cast<double>(n);
  double between = 0.0, within = 0.0;
  for (index_t c = 0; c < k; ++c) {
    double sum = 0.0;
    for (index_t j = 0; j < d; ++j) {
      const double diff = means[c * d + j] - overall[j];
      sum += diff * diff;
    }
    between += static_cast<double>(encoded.sizes[c]) * sum;
  }
  for (index_t i = 0; i < n; ++i) within += distance_to(X.row(i), means.data() + encoded.ids[i] * d, d);
  if (within == 0.0) return 1.0;
  return between * static_cast<double>(n - k) / (within * static_cast<double>(k - 1));
}

double inertia(MatrixView<const float> X, std::span<const std::int32_t> labels, MatrixView<const float> centroids,
               std::span<const float> weights) {
  check_labels_for(X, labels);
  SHOAL_EXPECTS(weights.empty() || static_cast<index_t>(weights.size()) == X.rows(), "there are ",
                weights.size(), " weights for ", X.rows(), " points");
  SHOAL_EXPECTS(centroids.cols() == X.cols(), "centroids have dimension ", centroids.cols(),
                ", the data ", X.cols());
  double total = 0.0;
  for (index_t i = 0; i < X.rows(); ++i) {
    const std::int32_t label = labels[i];
    SHOAL_EXPECTS(label >= 0 && label < centroids.rows(), "label ", label, " of point ", i,
                  " is outside [0, ", centroids.rows(), ")");
    double sum = 0.0;
    const float* c = centroids.row(label);
    for (index_t j = 0; j < X.cols(); ++j) {
      const double diff = static_cast<double>(X(i, j)) - c[j];
      sum += diff * diff;
    }
    total += (weights.empty() ? 1.0 : static_cast<double>(weights[i])) * sum;
  }
  return total;
}

}  // namespace shoal::metrics
