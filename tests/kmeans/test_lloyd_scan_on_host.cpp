// The GPU k-means scan (nearest_centroid_kernel) run on the host from its own source
// (support/cuda_on_host.hpp), over tiles rounded as cuBLAS may round them (FP32, or TF32 with
// inputs and sums cut): its labels must be the exact nearest centroids, its distances the
// exact ones. This checks the scan's margin and close calls on every machine; only a GPU can
// check how nvcc compiles it.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "support/cuda_on_host.hpp"  // first: the kernel source needs it
#include "kernels/kmeans/lloyd.cuh"
#include "support/rounding_on_host.hpp"

namespace shoal::kernels::kmeans {
namespace {

struct Case {
  const char* why;
  int rows, k, d;
  float offset;  // added to every coordinate: far from the origin, rounding is coarse
  GemmPrecision tile;   // how the tile is rounded
  GemmPrecision bound;  // which bound the scan is given
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.why; }

struct Outcome {
  int wrong_labels = 0;
  unsigned long long changed = 0, close_calls = 0;
};

Outcome run_scan(const Case& c) {
  std::mt19937 random(11);
  std::normal_distribution<float> normal;
  // One centroid in four a small step from the one before it, rows near all of them: close
  // calls on purpose, beside rows with a clear nearest centroid.
  std::vector<float> centroids(static_cast<std::size_t>(c.k * c.d)), x(static_cast<std::size_t>(c.rows * c.d));
  for (int j = 0; j < c.k; ++j) {
    for (int t = 0; t < c.d; ++t) {
      centroids[j * c.d + t] = j % 4 == 1 ? centroids[(j - 1) * c.d + t] + 0.05f * normal(random)
                                          : c.offset + 4.0f * normal(random);
    }
  }
  for (int r = 0; r < c.rows; ++r) {
    const int near = static_cast<int>(random() % static_cast<unsigned>(c.k));
    for (int t = 0; t < c.d; ++t) x[r * c.d + t] = centroids[near * c.d + t] + 0.5f * normal(random);
  }
  // The tile and norms as the engine makes them (the tile's rounding emulated).
  std::vector<float> tile(static_cast<std::size_t>(c.rows * c.k)), c_norms(static_cast<std::size_t>(c.k)),
      x_norms(static_cast<std::size_t>(c.rows));
  float c_norm_max = 0.0f;
  for (int j = 0; j < c.k; ++j) {
    double norm = 0.0;
    for (int t = 0; t < c.d; ++t) norm += static_cast<double>(centroids[j * c.d + t]) * centroids[j * c.d + t];
    c_norms[j] = static_cast<float>(norm);
    c_norm_max = std::max(c_norm_max, c_norms[j]);
  }
  for (int r = 0; r < c.rows; ++r) {
    float norm = 0.0f;
    for (int t = 0; t < c.d; ++t) norm += x[r * c.d + t] * x[r * c.d + t];
    x_norms[r] = norm;
    for (int j = 0; j < c.k; ++j) {
      float dot = 0.0f;
      for (int t = 0; t < c.d; ++t) {
        const float a = x[r * c.d + t], b = centroids[j * c.d + t];
        dot = c.tile == GemmPrecision::Tf32
                  ? test::add(dot, test::to_tf32(a, test::Tf32Input::Cut) * test::to_tf32(b, test::Tf32Input::Cut),
                              test::FloatSum::Cut)
                  : std::fma(a, b, dot);
      }
      tile[r * c.k + j] = -2.0f * dot;
    }
  }

  std::vector<std::int32_t> labels(static_cast<std::size_t>(c.rows), -1);
  std::vector<double> distances(static_cast<std::size_t>(c.rows), -1.0);
  unsigned long long counts[2] = {0, 0};
  const double norm_error = gemm_rounding(c.d, GemmPrecision::Fp32).unit;
  const GemmRounding dot = gemm_rounding(c.d, c.bound);
  constexpr unsigned kThreads = 64;  // two rows per block
  for (unsigned b = 0; b * (kThreads / HostBlock::kLanes) < static_cast<unsigned>(c.rows); ++b) {
    blockIdx.x = b;
    run_block_on_host(kThreads, [&] {
      const auto scan = [&](auto vector) {
        nearest_centroid_kernel<decltype(vector)::value>(tile.data(), c_norms.data(), c_norm_max, norm_error, dot,
                                                         x.data(), x_norms.data(), centroids.data(), c.rows, c.k, c.d,
                                                         labels.data(), distances.data(), counts);
      };
      if (c.k % 4 == 0) scan(std::true_type{});
      else scan(std::false_type{});
    });
  }

  Outcome outcome{0, counts[0], counts[1]};
  for (int r = 0; r < c.rows; ++r) {
    long double best = 0.0L;
    int best_j = -1;
    for (int j = 0; j < c.k; ++j) {
      long double sum = 0.0L;
      for (int t = 0; t < c.d; ++t) {
        const long double diff = static_cast<long double>(x[r * c.d + t]) - centroids[j * c.d + t];
        sum += diff * diff;
      }
      if (best_j < 0 || sum < best) {
        best = sum;
        best_j = j;
      }
    }
    outcome.wrong_labels += labels[r] != best_j ? 1 : 0;
    // The distance is to the centroid the scan chose, exact in double.
    long double chosen = 0.0L;
    for (int t = 0; t < c.d; ++t) {
      const long double diff = static_cast<long double>(x[r * c.d + t]) - centroids[labels[r] * c.d + t];
      chosen += diff * diff;
    }
    EXPECT_NEAR(distances[r], static_cast<double>(chosen), 1e-12 * static_cast<double>(chosen)) << "row " << r;
  }
  return outcome;
}

class LloydScanOnHost : public ::testing::TestWithParam<Case> {};

TEST_P(LloydScanOnHost, LabelsAreTheExactNearest) {
  const Case c = GetParam();
  const Outcome outcome = run_scan(c);
  EXPECT_EQ(outcome.wrong_labels, 0);
  EXPECT_EQ(outcome.changed, static_cast<unsigned long long>(c.rows)) << "every label started at -1";
  EXPECT_GT(outcome.close_calls, 0u) << "the data is made to have close calls";
  // Near the origin, rows near a lone centroid are clear; far from it TF32 rounds too coarsely
  // to decide any row (the engine then goes back to FP32 tiles).
  if (c.offset == 0.0f) {
    EXPECT_LT(outcome.close_calls, static_cast<unsigned long long>(c.rows));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tiles, LloydScanOnHost,
    ::testing::Values(Case{"FP32 tile", 150, 40, 24, 0.0f, GemmPrecision::Fp32, GemmPrecision::Fp32},
                      Case{"TF32 tile", 150, 40, 24, 0.0f, GemmPrecision::Tf32, GemmPrecision::Tf32},
                      Case{"TF32 tile, odd k (scalar loads)", 150, 37, 19, 0.0f, GemmPrecision::Tf32,
                           GemmPrecision::Tf32},
                      Case{"TF32 tile far from the origin", 150, 40, 24, 300.0f, GemmPrecision::Tf32,
                           GemmPrecision::Tf32}),
    [](const ::testing::TestParamInfo<Case>& row) { return "case" + std::to_string(row.index); });

// The TF32 bound is needed: a TF32 tile trusted within the FP32 bound gives wrong labels.
TEST(LloydScanOnHost, Tf32TileWithinTheFp32BoundGoesWrong) {
  const Outcome outcome =
      run_scan({"TF32 tile, FP32 bound", 150, 40, 24, 300.0f, GemmPrecision::Tf32, GemmPrecision::Fp32});
  EXPECT_GT(outcome.wrong_labels, 0);
}

}  // namespace
}  // namespace shoal::kernels::kmeans
