// The fused GPU kNN kernel's own source, run on the host (support/cuda_on_host.hpp). This
// checks its indexing, staging and lists against an oracle on every machine, CI included;
// it cannot check how nvcc compiles it or the device's memory model, which only a GPU can
// (KnnCuda.EqualsBruteForceInEveryWidth).
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "support/cuda_on_host.hpp"  // first: the kernel source needs it
#include "kernels/neighbors/fused_knn.cuh"

namespace shoal::kernels::neighbors {
namespace {

struct Shape {
  std::int64_t n;
  int d;
  int count;
  std::int64_t first, last;  // the query rows of the launch
};

std::ostream& operator<<(std::ostream& out, const Shape& s) {
  return out << "n = " << s.n << ", d = " << s.d << ", count = " << s.count << ", rows [" << s.first << ", "
             << s.last << ")";
}

template <int kDims, int kCapacity>
void launch_on_host(const Shape& s, const std::vector<float>& X, const std::vector<float>& norms,
                    std::vector<Candidate>& best) {
  constexpr std::int64_t kRowsPerBlock = std::int64_t{kFusedThreads} * fused_queries<kDims>();
  for (std::int64_t block = 0; block * kRowsPerBlock < s.last - s.first; ++block) {
    blockIdx.x = static_cast<unsigned>(block);
    run_block_on_host(kFusedThreads, [&] {
      fused_knn_kernel<kDims, kCapacity>(X.data(), norms.data(), s.n, s.d, s.first, s.last, s.count, best.data());
    });
  }
}

class FusedKnnOnHost : public ::testing::TestWithParam<Shape> {};

TEST_P(FusedKnnOnHost, ListsEqualTheOracle) {
  const Shape s = GetParam();
  // Coordinates on a grid of quarters: equal distances are common, and must go to the lower index.
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> X(static_cast<std::size_t>(s.n * s.d)), norms(static_cast<std::size_t>(s.n));
  for (float& v : X) v = std::round(normal(rng) * 4.0f) / 4.0f;
  for (std::int64_t i = 0; i < s.n; ++i) {
    double sum = 0.0;
    for (int j = 0; j < s.d; ++j) sum += static_cast<double>(X[i * s.d + j]) * X[i * s.d + j];
    norms[i] = static_cast<float>(sum);
  }
  const Candidate untouched{-1.0f, -2};
  std::vector<Candidate> best(static_cast<std::size_t>(s.n * s.count), untouched);
  with_width(s.d, [&](auto width) {
    with_capacity(s.count, [&](auto capacity) {
      launch_on_host<decltype(width)::value, decltype(capacity)::value>(s, X, norms, best);
    });
  });

  for (std::int64_t row = 0; row < s.n; ++row) {
    const Candidate* got = best.data() + row * s.count;
    if (row < s.first || row >= s.last) {
      for (int i = 0; i < s.count; ++i) ASSERT_EQ(got[i].index, untouched.index) << "row " << row << " is not the launch's";
      continue;
    }
    // The kernel's formula, its products summed in dimension order, sorted by (distance, index).
    std::vector<std::pair<float, std::int32_t>> all;
    for (std::int64_t other = 0; other < s.n; ++other) {
      float dot = 0.0f;
      for (int j = 0; j < s.d; ++j) dot = std::fma(X[row * s.d + j], X[other * s.d + j], dot);
      all.emplace_back(std::fmax(0.0f, (-2.0f * dot + norms[row]) + norms[other]), static_cast<std::int32_t>(other));
    }
    std::sort(all.begin(), all.end());
    for (int i = 0; i < s.count; ++i) {
      const auto expected = i < static_cast<int>(all.size()) ? all[i] : std::pair{FLT_MAX, std::int32_t{-1}};
      ASSERT_EQ(got[i].index, expected.second) << "row " << row << ", place " << i;
      ASSERT_EQ(got[i].distance, expected.first) << "row " << row << ", place " << i;
    }
  }
}

// Each of the 16, 32 and 64 wide forms and list capacities; launches over part of the rows;
// fewer points than one chunk, and fewer than a list holds.
INSTANTIATE_TEST_SUITE_P(Shapes, FusedKnnOnHost,
                         ::testing::Values(Shape{700, 3, 19, 0, 700}, Shape{700, 16, 19, 0, 700},
                                           Shape{700, 24, 19, 100, 650}, Shape{520, 33, 16, 0, 520},
                                           Shape{333, 48, 40, 0, 333}, Shape{300, 64, 12, 7, 300},
                                           Shape{5, 5, 8, 0, 5}));

}  // namespace
}  // namespace shoal::kernels::neighbors
