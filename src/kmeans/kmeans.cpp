// Public entry of k-means: validation, preparation (unit rows for cosine), backend dispatch,
// restarts and result assembly. The work happens in the engines (assign_cpu.cpp,
// lloyd_cuda.cu) under the shared driver (lloyd.cpp).
#include "shoal/kmeans.hpp"

#include <cmath>
#include <set>
#include <string>

#include "core/check.hpp"
#include "core/conditioning.hpp"
#include "core/stopwatch.hpp"
#include "core/validate.hpp"
#include "distance/distance.hpp"
#include "kmeans/assign_cpu.hpp"
#include "kmeans/device_plan.hpp"
#include "kmeans/init.hpp"
#include "kmeans/lloyd.hpp"
#include "kmeans/lloyd_cuda.hpp"

namespace shoal::kmeans {

std::string_view to_string(Init init) {
  switch (init) {
    case Init::KMeansPlusPlus: return "kmeans++";
    case Init::KMeansParallel: return "kmeans-par";
    case Init::Random: return "random";
    case Init::Given: return "given";
  }
  return "unknown";
}

namespace {

using shoal::detail::concat;

void validate(const Context& ctx, MatrixView<const float> X, const Params& params, std::span<const float> weights) {
  shoal::detail::check_data(ctx, X, "the data");
  SHOAL_EXPECTS(params.k >= 1, "k = ", params.k, " must be at least 1");
  SHOAL_EXPECTS(params.k <= X.rows(), "k = ", params.k, " exceeds the number of points n = ", X.rows());
  SHOAL_EXPECTS(params.n_init >= 1, "n_init = ", params.n_init, " must be at least 1");
  SHOAL_EXPECTS(params.max_iter >= 1, "max_iter = ", params.max_iter, " must be at least 1");
  SHOAL_EXPECTS(std::isfinite(params.tol) && params.tol >= 0.0, "tol = ", params.tol, " must be finite and >= 0");
  shoal::detail::check_weights(weights, X.rows());
  if (params.init == Init::Given) {
    const MatrixView<const float> C = params.initial_centroids;
    SHOAL_EXPECTS(C.rows() == params.k && C.cols() == X.cols(), "initial centroids are ", C.rows(), " x ", C.cols(),
                  ", expected k x d = ", params.k, " x ", X.cols());
    shoal::detail::check_data(ctx, C, "the initial centroids");
  }
}

/// scikit-learn's _tolerance: tol times the mean per-feature variance of X. The sums run over
/// fixed blocks of rows merged in block order, so the value does not depend on the thread count.
double absolute_tolerance(const Context& ctx, MatrixView<const float> X, double tol) {
  if (tol == 0.0) return 0.0;
  constexpr index_t kBlockRows = 4096;
  const index_t n = X.rows(), d = X.cols(), blocks = (n + kBlockRows - 1) / kBlockRows;
  std::vector<double> partial(static_cast<std::size_t>(blocks * d));
  // Σᵢ term(j, x_ij) for every feature j.
  const auto column_sums = [&](auto&& term) {
    std::fill(partial.begin(), partial.end(), 0.0);
#pragma omp parallel for num_threads(ctx.threads()) schedule(static)
    for (index_t b = 0; b < blocks; ++b) {
      double* sums = partial.data() + b * d;
      for (index_t i = b * kBlockRows; i < std::min(n, (b + 1) * kBlockRows); ++i) {
        for (index_t j = 0; j < d; ++j) sums[j] += term(j, X(i, j));
      }
    }
    std::vector<double> total(d, 0.0);
    for (index_t b = 0; b < blocks; ++b) {
      for (index_t j = 0; j < d; ++j) total[j] += partial[b * d + j];
    }
    return total;
  };
  std::vector<double> mean = column_sums([](index_t, float x) { return static_cast<double>(x); });
  for (double& m : mean) m /= static_cast<double>(n);
  const std::vector<double> m2 = column_sums([&](index_t j, float x) { return (x - mean[j]) * (x - mean[j]); });
  double variance = 0.0;
  for (const double v : m2) variance += v / static_cast<double>(n);
  return tol * variance / static_cast<double>(d);
}

using shoal::detail::unit_rows;

/// The power of two (as its exponent) that brings the largest |coordinate| of the inputs into
/// [1, 2), when it lies outside [2^-40, 2^40]; else 0. Lloyd is exactly equivariant under it
/// (every product, sum and mean scales without rounding), and the float GEMM of the assignment
/// then neither overflows (|x|·|c| near 1.7e38) nor loses its products to denormals.
/// Coordinates 2^126 times smaller than the largest may round to zero on the way.
int conditioning_exponent(std::initializer_list<MatrixView<const float>> inputs) {
  float largest = 0.0f;
  for (const MatrixView<const float> X : inputs) largest = std::max(largest, shoal::detail::largest_magnitude(X));
  if (largest == 0.0f || (largest >= 0x1p-40f && largest <= 0x1p40f)) return 0;
  return -std::ilogb(largest);
}

/// X·2^exponent.
Matrix<float> scaled(MatrixView<const float> X, int exponent) { return shoal::detail::shifted_scaled(X, {}, exponent); }

index_t distinct_rows(MatrixView<const float> X) {
  std::set<std::vector<float>> rows;
  for (index_t i = 0; i < X.rows(); ++i) rows.emplace(X.row(i), X.row(i) + X.cols());
  return static_cast<index_t>(rows.size());
}

std::unique_ptr<detail::LloydEngine> make_engine(const Context& ctx, Backend backend, MatrixView<const float> X,
                                                 std::span<const float> weights, index_t k) {
#ifdef SHOAL_WITH_CUDA
  if (backend == Backend::Cuda) return detail::make_cuda_engine(ctx, X, weights, k);
#else
  (void)backend;
  (void)k;
#endif
  return detail::make_cpu_engine(ctx, X, weights);
}

/// What predict and transform read: fitted centroids and new data, checked against each other,
/// as given or (cosine) scaled to unit rows.
class Fitted {
 public:
  Fitted(const Context& ctx, MatrixView<const float> centroids, MatrixView<const float> X, Metric metric)
      : centroids_(centroids), X_(X) {
    shoal::detail::check_data(ctx, centroids, "the centroids");
    shoal::detail::check_data(ctx, X, "the data");
    SHOAL_EXPECTS(X.cols() == centroids.cols(), "the data have d = ", X.cols(), " but the centroids d = ",
                  centroids.cols());
    if (metric == Metric::Cosine) {
      own_x_ = unit_rows(X, "data");
      own_c_ = unit_rows(centroids, "centroid");
    } else if ((exponent_ = conditioning_exponent({X, centroids})) != 0) {
      own_x_ = scaled(X, exponent_);
      own_c_ = scaled(centroids, exponent_);
    }
    if (own_x_.rows() > 0) {
      X_ = own_x_.view();
      centroids_ = own_c_.view();
    }
  }
  [[nodiscard]] MatrixView<const float> data() const { return X_; }
  [[nodiscard]] MatrixView<const float> centroids() const { return centroids_; }
  /// The data and centroids are the given ones times 2^exponent().
  [[nodiscard]] int exponent() const { return exponent_; }

 private:
  MatrixView<const float> centroids_, X_;
  Matrix<float> own_x_, own_c_;  // unit rows (cosine) or scaled copies, when needed
  int exponent_ = 0;
};

}  // namespace

Result fit(const Context& ctx, MatrixView<const float> X, const Params& params, std::span<const float> weights) {
  const shoal::detail::Stopwatch setup;
  validate(ctx, X, params, weights);
  const bool cosine = params.metric == Metric::Cosine;
  const Matrix<float> unit = cosine ? unit_rows(X, "data") : Matrix<float>();
  MatrixView<const float> data = cosine ? unit.view() : X;
  const int exponent = params.init == Init::Given ? conditioning_exponent({data, params.initial_centroids})
                                                  : conditioning_exponent({data});
  const Matrix<float> conditioned = exponent != 0 ? scaled(data, exponent) : Matrix<float>();
  if (exponent != 0) data = conditioned.view();
  const double tolerance = absolute_tolerance(ctx, data, params.tol);
  const std::uint64_t seed = params.seed.value_or(ctx.seed());

  Result result;
  const double flops_per_iteration = 2.0 * static_cast<double>(data.rows()) * static_cast<double>(params.k) *
                                     static_cast<double>(data.cols());
  result.backend = ctx.backend_for(flops_per_iteration * params.max_iter);
  const std::unique_ptr<detail::LloydEngine> engine = make_engine(ctx, result.backend, data, weights, params.k);
  result.setup_seconds = setup.seconds();

  const int runs = params.init == Init::Given ? 1 : params.n_init;
  for (int run = 0; run < runs; ++run) {
    shoal::detail::Stopwatch phase;
    const detail::Seeding seeding{seed, static_cast<std::uint64_t>(run)};
    Matrix<float> centroids;
    switch (params.init) {
      case Init::KMeansPlusPlus: centroids = detail::init_plus_plus(ctx, data, weights, params.k, seeding); break;
      case Init::KMeansParallel: centroids = detail::init_parallel(ctx, data, weights, params.k, seeding); break;
      case Init::Random: centroids = detail::init_random(ctx, data, weights, params.k, seeding); break;
      case Init::Given:
        centroids = cosine ? unit_rows(params.initial_centroids, "initial centroid")
                           : scaled(params.initial_centroids, exponent);  // a copy when exponent is 0
        break;
    }
    result.init_seconds += phase.lap();

    detail::RunOutcome outcome = detail::run_lloyd(ctx, *engine, data, weights, centroids, params, tolerance);
    result.lloyd_seconds += phase.lap();
    if (run == 0 || outcome.inertia < result.inertia) {
      const std::span<const std::int32_t> labels = engine->labels();
      result.labels.assign(labels.begin(), labels.end());
      result.centroids = std::move(centroids);
      result.inertia = outcome.inertia;
      result.n_iter = outcome.n_iter;
      result.converged = outcome.converged;
      result.iterations = std::move(outcome.iterations);
      result.best_run = run;
    }
  }

  std::vector<index_t> sizes(params.k, 0);
  for (const std::int32_t label : result.labels) ++sizes[label];
  if (std::find(sizes.begin(), sizes.end(), 0) != sizes.end()) {
    const index_t distinct = distinct_rows(data);
    SHOAL_EXPECTS(distinct >= params.k, "the data has only ", distinct, " distinct points, fewer than k = ", params.k);
  }
  if (exponent != 0) {  // back to the caller's scale, exactly
    result.centroids = scaled(result.centroids, -exponent);
    result.inertia = std::ldexp(result.inertia, -2 * exponent);
    for (IterationStats& iteration : result.iterations) {
      iteration.inertia = std::ldexp(iteration.inertia, -2 * exponent);
      iteration.center_shift = std::ldexp(iteration.center_shift, -2 * exponent);
    }
  }
  return result;
}

std::vector<std::int32_t> predict(const Context& ctx, MatrixView<const float> centroids, MatrixView<const float> X,
                                  Metric metric) {
  const Fitted fitted(ctx, centroids, X, metric);
  const MatrixView<const float> data = fitted.data(), centres = fitted.centroids();
  std::vector<std::int32_t> labels(X.rows(), -1);
  const double flops = 2.0 * static_cast<double>(X.rows()) * static_cast<double>(centroids.rows()) *
                       static_cast<double>(X.cols());
#ifdef SHOAL_WITH_CUDA
  if (ctx.backend_for(flops) == Backend::Cuda) {
    detail::assign_nearest_cuda(ctx, data, centres, labels.data());
    return labels;
  }
#else
  (void)flops;
#endif
  std::vector<float> x_norms(data.rows());
  shoal::detail::row_sq_norms<float>(data, x_norms);
  detail::assign_nearest_cpu(ctx, data, x_norms.data(), centres, labels.data(), nullptr);
  return labels;
}

Matrix<float> transform(const Context& ctx, MatrixView<const float> centroids, MatrixView<const float> X,
                        Metric metric) {
  const Fitted fitted(ctx, centroids, X, metric);
  const bool cosine = metric == Metric::Cosine;
  Matrix<float> distances = shoal::detail::pairwise_sq_l2(ctx, fitted.data(), fitted.centroids());
  // For unit rows ‖x − c‖² = 2·(1 − cos).
  for (index_t i = 0; i < distances.rows(); ++i) {
    for (float& v : std::span<float>(distances.row(i), distances.cols())) {
      v = cosine ? v / 2.0f : std::ldexp(std::sqrt(v), -fitted.exponent());
    }
  }
  return distances;
}

std::size_t estimate_device_memory(index_t n, index_t d, const Params& params) {
  SHOAL_EXPECTS(n >= 1 && d >= 1 && params.k >= 1, "estimate_device_memory needs n, d, k >= 1, got ", n, ", ", d,
                ", ", params.k);
  return detail::plan_device(n, d, params.k, SIZE_MAX).bytes;
}

}  // namespace shoal::kmeans
