#pragma once
// The ways cuBLAS may round a product on a GPU, emulated on the host for the tests of the
// bounds that decide close calls (kernels/distance/gemm_rounding.hpp): TF32 inputs rounded to
// nearest or cut to 10 mantissa bits (subnormals kept or flushed), FP32 sums rounded to
// nearest or cut.

#include <bit>
#include <cmath>
#include <cstdint>

namespace shoal::test {

enum class Tf32Input { Nearest, Cut, CutAndFlush };
enum class FloatSum { Nearest, Cut };

inline float to_tf32(float v, Tf32Input input) {
  if (input == Tf32Input::CutAndFlush && std::fabs(v) < std::ldexp(1.0f, -126)) return 0.0f;
  std::uint32_t bits = std::bit_cast<std::uint32_t>(v);
  constexpr std::uint32_t kDropped = (1u << 13) - 1;  // FP32 keeps 23 mantissa bits, TF32 10
  if (input == Tf32Input::Nearest) bits += (kDropped >> 1) + ((bits >> 13) & 1u);  // ties to even
  return std::bit_cast<float>(bits & ~kDropped);
}

/// a + b in float, rounded to nearest or toward zero.
inline float add(float a, float b, FloatSum sum) {
  const double exact = static_cast<double>(a) + b;  // exact for the magnitudes the tests use
  float rounded = static_cast<float>(exact);
  if (sum == FloatSum::Cut && std::fabs(static_cast<double>(rounded)) > std::fabs(exact)) {
    rounded = std::nextafter(rounded, 0.0f);
  }
  return rounded;
}

}  // namespace shoal::test
