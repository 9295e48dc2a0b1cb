// k-means++ quality against scikit-learn: shoal's mean final inertia over seeds 0..9 and
// 0..99, divided by scikit-learn's (tests/kmeans/sklearn_kmeans.inc), on every labelled set of
// the clustering benchmark suite. Results: docs/benchmarks.md.
//
//   build/release/benchmarks/kmeans_quality [DATA_DIR]
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "shoal/shoal.hpp"

namespace {

struct SklearnKMeans {
  const char* battery;
  const char* name;
  shoal::index_t k;
  double inertia;
  int n_iter;
  double plus_plus_mean_10;
  double plus_plus_mean_100;
  double plus_plus_sd;
  std::vector<float> centroids;
};

const SklearnKMeans kSklearn[] = {
#include "kmeans/sklearn_kmeans.inc"
};

}  // namespace

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : SHOAL_BENCHMARK_DATA_DIR;
  const shoal::Context ctx(shoal::Backend::Cpu);
  int above_10 = 0, above_100 = 0;
  double log_sum_10 = 0.0, log_sum_100 = 0.0;
  std::printf("%-8s %-18s %4s %10s %10s\n", "battery", "set", "k", "10 seeds", "100 seeds");
  for (const SklearnKMeans& c : kSklearn) {
    const shoal::Matrix<float> X = shoal::io::read_matrix(root + "/" + c.battery + "/" + c.name + ".data.gz");
    double sum_10 = 0.0, sum_100 = 0.0;
    for (std::uint64_t seed = 0; seed < 100; ++seed) {
      shoal::kmeans::Params params;
      params.k = c.k;
      params.seed = seed;
      const double inertia = shoal::kmeans::fit(ctx, X, params).inertia;
      if (seed < 10) sum_10 += inertia;
      sum_100 += inertia;
    }
    const double ratio_10 = sum_10 / 10.0 / c.plus_plus_mean_10, ratio_100 = sum_100 / 100.0 / c.plus_plus_mean_100;
    above_10 += ratio_10 > 1.01;
    above_100 += ratio_100 > 1.01;
    log_sum_10 += std::log(ratio_10);
    log_sum_100 += std::log(ratio_100);
    std::printf("%-8s %-18s %4lld %10.4f %10.4f\n", c.battery, c.name, static_cast<long long>(c.k), ratio_10, ratio_100);
  }
  const double sets = static_cast<double>(std::size(kSklearn));
  std::printf("above 1.01: %d (10 seeds), %d (100 seeds) of %zu; geometric means %.4f, %.4f\n", above_10, above_100,
              std::size(kSklearn), std::exp(log_sum_10 / sets), std::exp(log_sum_100 / sets));
}
