// Compiled with -ffp-contract=off (src/CMakeLists.txt): a fused multiply-add rounds once
// where a multiply then an add rounds twice, which would make results machine-dependent.
#include "core/random.hpp"

#include <cmath>

#include "core/check.hpp"

namespace shoal::detail {

std::uint64_t Rng::next_u64() {
  if (used_ >= 3) {  // need two words; a leftover single word is skipped
    block_ = philox4x32(seed_, stream_, position_++);
    used_ = 0;
  }
  const std::uint64_t hi = block_.v[used_], lo = block_.v[used_ + 1];
  used_ += 2;
  return (hi << 32) | lo;
}

std::uint64_t Rng::uniform_index(std::uint64_t n) {
  SHOAL_ASSERT(n > 0);
  // Rejection sampling keeps every index equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t draw = next_u64();
  while (draw >= limit) draw = next_u64();
  return draw % n;
}

double Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u = 0.0, v = 0.0, s = 0.0;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * portable_log(s) / s);  // sqrt is correctly rounded
  spare_normal_ = v * factor;
  has_spare_normal_ = true;
  return u * factor;
}

double portable_log(double x) {
  SHOAL_ASSERT(x > 0.0 && std::isfinite(x), "portable_log(", x, ")");
  int exponent = 0;
  double mantissa = std::frexp(x, &exponent);  // x = mantissa · 2^exponent, mantissa in [0.5, 1)
  if (mantissa < 0.70710678118654752440) {     // bring mantissa into [√½, √2)
    mantissa *= 2.0;
    --exponent;
  }
  // log(m) = 2·atanh(t), t = (m−1)/(m+1), |t| ≤ 0.1716: 13 odd terms reach double precision.
  const double t = (mantissa - 1.0) / (mantissa + 1.0);
  const double t2 = t * t;
  double sum = 0.0;
  for (int k = 25; k >= 1; k -= 2) sum = sum * t2 + 1.0 / k;
  constexpr double kLn2 = 0.693147180559945309417232121458;
  return 2.0 * t * sum + exponent * kLn2;
}

}  // namespace shoal::detail
