#pragma once
// How far the entries of a cuBLAS product X·Yᵀ can be from the exact dot products, for the
// callers that decide close calls exactly (the k-means scan). Plain C++: host tests check the
// bounds against emulated rounding (tests/kmeans/test_gemm_rounding.cpp).

#include <cmath>
#include <cstdint>

namespace shoal::kernels {

/// How cuBLAS multiplies: full FP32 on the CUDA cores, or TF32 on the tensor cores (several
/// times the multiply-adds per second; inputs rounded to 10 mantissa bits, FP32 sums).
enum class GemmPrecision { Fp32, Tf32 };

/// |computed x·y − x·y| ≤ unit·‖x‖·‖y‖ + floor·(‖x‖ + ‖y‖ + 1) for d-dimensional x and y.
struct GemmRounding {
  double unit = 0.0;
  double floor = 0.0;
};

/// FP32: d − 1 additions of products rounded once each (or fused), (d + 2)·2⁻²⁴ with room to
/// spare. TF32 assumes the coarsest rounding the tensor cores could do (NVIDIA does not
/// specify it; measurements have found truncated sums): each input cut, not rounded, to 10
/// mantissa bits, 2⁻¹⁰ relative, so a product is off by 2⁻⁹ + 2⁻²⁰; the products are exact in
/// FP32 and their sums cut, (d + 2)·2⁻²². Inputs or sums below 2⁻¹²⁶ may be flushed to zero:
/// the floor.
[[nodiscard]] inline GemmRounding gemm_rounding(std::int64_t d, GemmPrecision precision) {
  const auto terms = static_cast<double>(d) + 2.0;
  if (precision == GemmPrecision::Fp32) return {terms * std::ldexp(1.0, -24), 0.0};
  return {std::ldexp(1.0, -9) + std::ldexp(1.0, -20) + terms * std::ldexp(1.0, -22), terms * std::ldexp(1.0, -125)};
}

}  // namespace shoal::kernels
