// The bounds the k-means scan trusts (kernels/distance/gemm_rounding.hpp) against dot products
// rounded on the host the ways cuBLAS may round them on a GPU: FP32 products and sums, and
// TF32 inputs (rounded to nearest or cut to 10 mantissa bits, subnormals kept or flushed) with
// FP32 sums rounded to nearest or cut. The scan's labels are exact only if every computed
// entry lies within its bound.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/distance/gemm_rounding.hpp"
#include "support/rounding_on_host.hpp"

namespace shoal::kernels {
namespace {

using test::add;
using test::to_tf32;
using Input = test::Tf32Input;
using Sum = test::FloatSum;

/// x·y as the tensor cores may form it: TF32 inputs, exact products, FP32 sums.
float tf32_dot(const std::vector<float>& x, const std::vector<float>& y, Input input, Sum sum) {
  float total = 0.0f;
  for (std::size_t t = 0; t < x.size(); ++t) total = add(total, to_tf32(x[t], input) * to_tf32(y[t], input), sum);
  return total;
}

/// x·y as SGEMM forms it: each product rounded, FP32 sums.
float fp32_dot(const std::vector<float>& x, const std::vector<float>& y) {
  float total = 0.0f;
  for (std::size_t t = 0; t < x.size(); ++t) total = add(total, x[t] * y[t], Sum::Nearest);
  return total;
}

double exact_dot(const std::vector<float>& x, const std::vector<float>& y) {
  long double total = 0.0L;
  for (std::size_t t = 0; t < x.size(); ++t) total += static_cast<long double>(x[t]) * y[t];
  return static_cast<double>(total);
}

double norm(const std::vector<float>& v) {
  double total = 0.0;
  for (const float value : v) total += static_cast<double>(value) * value;
  return std::sqrt(total);
}

/// |computed − exact| over the bound's allowance; at most 1 where the bound holds.
double used(const GemmRounding& bound, float computed, const std::vector<float>& x, const std::vector<float>& y) {
  const double allowed = bound.unit * norm(x) * norm(y) + bound.floor * (norm(x) + norm(y) + 1.0);
  return std::fabs(static_cast<double>(computed) - exact_dot(x, y)) / allowed;
}

/// Vectors of the kinds that round worst or most often.
std::vector<std::pair<std::vector<float>, std::vector<float>>> cases(std::int64_t d) {
  std::mt19937_64 random(static_cast<std::uint64_t>(d));
  std::normal_distribution<float> normal;
  std::vector<std::pair<std::vector<float>, std::vector<float>>> out;
  const auto make = [&](auto&& value) {
    std::vector<float> x(static_cast<std::size_t>(d)), y(static_cast<std::size_t>(d));
    for (std::int64_t t = 0; t < d; ++t) {
      x[t] = value(t, 0);
      y[t] = value(t, 1);
    }
    out.emplace_back(std::move(x), std::move(y));
  };
  for (int repeat = 0; repeat < 20; ++repeat) make([&](std::int64_t, int) { return normal(random); });
  // Far from the origin: every product large and of one sign.
  for (int repeat = 0; repeat < 5; ++repeat) make([&](std::int64_t, int) { return 1000.0f + normal(random); });
  // Every value loses the most a cut to 10 bits can lose (all 13 dropped bits set), one sign.
  const float worst = std::bit_cast<float>(std::bit_cast<std::uint32_t>(1.0f) | ((1u << 13) - 1));
  make([&](std::int64_t, int) { return worst; });
  make([&](std::int64_t t, int) { return std::ldexp(worst, static_cast<int>(t % 7)); });
  // Subnormal values beside large ones: flushed inputs.
  make([&](std::int64_t t, int side) { return side == 0 ? std::ldexp(1.5f, -130) : 1e30f * (t % 2 ? 1.0f : -1.0f); });
  return out;
}

class GemmRoundingBound : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(GemmRoundingBound, HoldsForEveryWayOfRounding) {
  const std::int64_t d = GetParam();
  const GemmRounding fp32 = gemm_rounding(d, GemmPrecision::Fp32), tf32 = gemm_rounding(d, GemmPrecision::Tf32);
  double worst_cut = 0.0;
  for (const auto& [x, y] : cases(d)) {
    if (std::fabs(x[0]) >= std::ldexp(1.0f, -126)) {  // FP32 has no floor: SGEMM keeps subnormals
      EXPECT_LE(used(fp32, fp32_dot(x, y), x, y), 1.0) << "FP32, d = " << d;
    }
    for (const Input input : {Input::Nearest, Input::Cut, Input::CutAndFlush}) {
      for (const Sum sum : {Sum::Nearest, Sum::Cut}) {
        const double share = used(tf32, tf32_dot(x, y, input, sum), x, y);
        EXPECT_LE(share, 1.0) << "TF32, d = " << d << ", input " << static_cast<int>(input) << ", sum "
                              << static_cast<int>(sum);
        if (input == Input::Cut) worst_cut = std::max(worst_cut, share);
      }
    }
  }
  // The cut inputs use most of the TF32 bound: half of it would not do.
  EXPECT_GT(worst_cut, 0.5) << "d = " << d;
}

INSTANTIATE_TEST_SUITE_P(Dimensions, GemmRoundingBound, ::testing::Values(1, 2, 3, 16, 64, 128, 1000));

}  // namespace
}  // namespace shoal::kernels
