// Metrics against brute-force definitions on small inputs, and against scikit-learn on the
// labelled benchmark suite (values in sklearn_expected.inc, from make_sklearn_expected.py).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/random.hpp"
#include "shoal/error.hpp"
#include "shoal/metrics.hpp"
#include "support/test_support.hpp"

namespace shoal::metrics {
namespace {

constexpr double kNotCompared = std::numeric_limits<double>::quiet_NaN();

// Pair-counting ARI straight from the definition (Hubert & Arabie 1985), O(n²).
double ari_by_pairs(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  double same_both = 0, same_a = 0, same_b = 0, pairs = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = i + 1; j < a.size(); ++j) {
      same_both += (a[i] == a[j] && b[i] == b[j]);
      same_a += a[i] == a[j];
      same_b += b[i] == b[j];
      ++pairs;
    }
  }
  const double expected = same_a * same_b / pairs, maximum = 0.5 * (same_a + same_b);
  if (maximum == expected) return 1.0;
  return (same_both - expected) / (maximum - expected);
}

// NMI from the entropies and joint distribution, arithmetic normalisation.
double nmi_by_definition(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  const double n = static_cast<double>(a.size());
  std::map<std::int32_t, double> pa, pb;
  std::map<std::pair<std::int32_t, std::int32_t>, double> pab;
  for (std::size_t i = 0; i < a.size(); ++i) {
    pa[a[i]] += 1 / n;
    pb[b[i]] += 1 / n;
    pab[{a[i], b[i]}] += 1 / n;
  }
  double ha = 0, hb = 0, mi = 0;
  for (const auto& [label, p] : pa) ha -= p * std::log(p);
  for (const auto& [label, p] : pb) hb -= p * std::log(p);
  for (const auto& [key, p] : pab) mi += p * std::log(p / (pa[key.first] * pb[key.second]));
  if (pa.size() == 1 && pb.size() == 1) return 1.0;
  if (mi <= 0) return 0.0;
  return mi / (0.5 * (ha + hb));
}

double silhouette_by_definition(const Matrix<float>& X, const std::vector<std::int32_t>& labels) {
  const index_t n = X.rows();
  double total = 0;
  for (index_t i = 0; i < n; ++i) {
    std::map<std::int32_t, std::pair<double, int>> sums;
    for (index_t j = 0; j < n; ++j) {
      double d2 = 0;
      for (index_t c = 0; c < X.cols(); ++c) d2 += std::pow(double(X(i, c)) - X(j, c), 2);
      auto& entry = sums[labels[j]];
      entry.first += std::sqrt(d2);
      entry.second += 1;
    }
    const auto& own = sums[labels[i]];
    if (own.second == 1) continue;
    const double a = own.first / (own.second - 1);
    double b = INFINITY;
    for (const auto& [label, entry] : sums) {
      if (label != labels[i]) b = std::min(b, entry.first / entry.second);
    }
    total += (b - a) / std::max(a, b);
  }
  return total / static_cast<double>(n);
}

struct Random {
  Matrix<float> X;
  std::vector<std::int32_t> a, b;
};

Random random_case(std::uint64_t seed, index_t n, index_t d, int ka, int kb) {
  detail::Rng rng(seed);
  Random r{Matrix<float>(n, d), std::vector<std::int32_t>(n), std::vector<std::int32_t>(n)};
  for (index_t i = 0; i < n; ++i) {
    r.a[i] = static_cast<std::int32_t>(rng.uniform_index(ka)) * 10 - 3;  // arbitrary label values
    r.b[i] = (i % 4 == 0) ? static_cast<std::int32_t>(rng.uniform_index(kb)) : r.a[i] % kb;
    for (index_t j = 0; j < d; ++j) r.X(i, j) = static_cast<float>(rng.normal() + r.a[i] * 0.1);
  }
  return r;
}

TEST(Metrics, AriAndNmiMatchTheirDefinitions) {
  for (const std::uint64_t seed : {1, 2, 3, 4}) {
    const Random r = random_case(seed, 200, 1, 2 + static_cast<int>(seed), 3);
    EXPECT_NEAR(adjusted_rand_index(r.a, r.b), ari_by_pairs(r.a, r.b), 1e-12);
    EXPECT_NEAR(normalized_mutual_info(r.a, r.b), nmi_by_definition(r.a, r.b), 1e-12);
  }
}

TEST(Metrics, AriAndNmiSpecialCases) {
  const std::vector<std::int32_t> same = {0, 0, 1, 1}, renamed = {5, 5, -1, -1}, one = {0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(adjusted_rand_index(same, renamed), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info(same, renamed), 1.0);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(one, one), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info(one, one), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info(same, one), 0.0);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(same, one), 0.0);
  EXPECT_THROW((void)adjusted_rand_index(same, std::vector<std::int32_t>{0, 1}), InvalidArgument);
  EXPECT_THROW((void)normalized_mutual_info({}, {}), InvalidArgument);
}

TEST(Metrics, AriStaysExactWhenPairCountsOverflow64Bits) {
  // n = 200,000: n⁴ exceeds 2⁶³, where 64-bit pair arithmetic would overflow.
  std::vector<std::int32_t> a(200'000), b(200'000);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<std::int32_t>(i % 3);
    b[i] = static_cast<std::int32_t>(i % 3 == 0 && i % 10 == 0 ? 1 : i % 3);
  }
  const double ari = adjusted_rand_index(a, b);
  EXPECT_GT(ari, 0.8);
  EXPECT_LT(ari, 1.0);
}

TEST(Metrics, SilhouetteMatchesItsDefinition) {
  const Context ctx(Backend::Cpu);
  for (const std::uint64_t seed : {1, 2}) {
    Random r = random_case(seed, 150, 3, 3, 2);
    r.a[7] = 1000;  // a single-point cluster, which scores 0
    EXPECT_NEAR(silhouette_score(ctx, r.X, r.a), silhouette_by_definition(r.X, r.a), 1e-9);
  }
}

TEST(Metrics, SilhouetteSamplesBeyondSampleSizeReproducibly) {
  const Context ctx(Backend::Cpu);
  const Random r = random_case(9, 500, 2, 3, 2);
  const SilhouetteOptions sampled{.sample_size = 200, .seed = 4};
  const double first = silhouette_score(ctx, r.X, r.a, sampled);
  EXPECT_EQ(first, silhouette_score(ctx, r.X, r.a, sampled));
  EXPECT_NE(first, silhouette_score(ctx, r.X, r.a, {.sample_size = 200, .seed = 5}));
  EXPECT_NEAR(first, silhouette_score(ctx, r.X, r.a, {.sample_size = 0}), 0.1);
}

TEST(Metrics, ScoresRejectDegenerateLabelings) {
  const Context ctx(Backend::Cpu);
  const Matrix<float> X(3, 1, {0, 1, 2});
  const std::vector<std::int32_t> one = {0, 0, 0}, all_distinct = {0, 1, 2}, short_labels = {0, 1};
  EXPECT_THROW((void)silhouette_score(ctx, X, one), InvalidArgument);
  EXPECT_THROW((void)silhouette_score(ctx, X, all_distinct), InvalidArgument);
  EXPECT_THROW((void)davies_bouldin_score(X, one), InvalidArgument);
  EXPECT_THROW((void)calinski_harabasz_score(X, short_labels), InvalidArgument);
}

TEST(Metrics, InertiaIsTheWeightedSumOfSquares) {
  const Matrix<float> X(3, 2, {0, 0, 1, 1, 4, 4});
  const Matrix<float> centroids(2, 2, {0, 0, 3, 3});
  const std::vector<std::int32_t> labels = {0, 0, 1};
  EXPECT_DOUBLE_EQ(inertia(X, labels, centroids), 2.0 + 2.0);
  const std::vector<float> weights = {1.0f, 0.5f, 2.0f};
  EXPECT_DOUBLE_EQ(inertia(X, labels, centroids, weights), 1.0 + 4.0);
  EXPECT_THROW((void)inertia(X, std::vector<std::int32_t>{0, 0, 2}, centroids), InvalidArgument);
}

struct SklearnCase {
  const char* battery;
  const char* name;
  double ari, nmi, silhouette, davies_bouldin, calinski_harabasz;
};

const SklearnCase kSklearn[] = {
#include "metrics/sklearn_expected.inc"
};

std::ostream& operator<<(std::ostream& out, const SklearnCase& c) { return out << c.battery << "/" << c.name; }

class SklearnParity : public ::testing::TestWithParam<SklearnCase> {};

void expect_close(double actual, double expected, const char* what) {
  EXPECT_LE(std::abs(actual - expected), 1e-6 * std::max(1.0, std::abs(expected)))
      << what << ": shoal " << actual << ", scikit-learn " << expected;
}

TEST_P(SklearnParity, EqualsScikitLearnTo1e6) {
  SHOAL_SKIP_WITHOUT_BENCHMARK_DATA();
  const SklearnCase& c = GetParam();
  const test::LabelledData data = test::load_benchmark(c.battery, c.name);
  // The perturbation of make_sklearn_expected.py: every 7th point moves to the next label.
  const std::int32_t k = *std::max_element(data.labels.begin(), data.labels.end()) + 1;
  std::vector<std::int32_t> perturbed = data.labels;
  for (std::size_t i = 0; i < perturbed.size(); i += 7) perturbed[i] = (perturbed[i] + 1) % k;

  expect_close(adjusted_rand_index(data.labels, perturbed), c.ari, "ARI");
  expect_close(normalized_mutual_info(data.labels, perturbed), c.nmi, "NMI");
  if (!std::isnan(c.silhouette)) {
    expect_close(silhouette_score(Context(Backend::Cpu), data.X, data.labels), c.silhouette, "silhouette");
  }
  expect_close(davies_bouldin_score(data.X, data.labels), c.davies_bouldin, "Davies-Bouldin");
  expect_close(calinski_harabasz_score(data.X, data.labels), c.calinski_harabasz, "Calinski-Harabasz");
}

INSTANTIATE_TEST_SUITE_P(Suite, SklearnParity, ::testing::ValuesIn(kSklearn),
                         [](const ::testing::TestParamInfo<SklearnCase>& row) {
                           return std::string(row.param.battery) + "_" + row.param.name;
                         });

}  // namespace
}  // namespace shoal::metrics
