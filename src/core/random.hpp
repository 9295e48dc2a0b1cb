#pragma once
// The one random number generator of shoal, on both backends: Philox4x32-10, the
// counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy
// as 1, 2, 3" (SC 2011). A (seed, stream, position) triple maps to four 32-bit words with no
// state, so a GPU thread and a CPU loop drawing the same triple get the same numbers.

#include <cstdint>

#include "core/host_device.hpp"

namespace shoal::detail {

struct PhiloxBlock {
  std::uint32_t v[4];
};

/// Philox4x32 with 10 rounds: the block at `counter` (128 bits: position lo/hi, stream lo/hi)
/// under the 64-bit key `seed`.
SHOAL_HOST_DEVICE inline PhiloxBlock philox4x32(std::uint64_t seed, std::uint64_t stream,
                                                std::uint64_t position) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0 = static_cast<std::uint32_t>(position), c1 = static_cast<std::uint32_t>(position >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(stream), c3 = static_cast<std::uint32_t>(stream >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

/// A uniform double in [0, 1) from 53 random bits.
SHOAL_HOST_DEVICE inline double bits_to_unit(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

/// A sequential stream of random numbers over Philox: stream `stream` of seed `seed`.
/// Its output depends on nothing but (seed, stream) and how many numbers were drawn, on any
/// machine: normals use only IEEE-exact operations (see random.cpp).
class Rng {
 public:
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  std::uint64_t next_u64();
  /// Uniform in [0, 1).
  double uniform() { return bits_to_unit(next_u64()); }
  /// Uniform in [0, n), unbiased; n ≥ 1.
  std::uint64_t uniform_index(std::uint64_t n);
  /// Standard normal (Marsaglia's polar method).
  double normal();

 private:
  std::uint64_t seed_;
  std::uint64_t stream_;
  std::uint64_t position_ = 0;
  PhiloxBlock block_{};
  int used_ = 4;  // words of block_ already handed out
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

/// Natural logarithm of x > 0 from IEEE-exact operations only, so it gives the same bits on
/// every machine (libm's log may differ in the last place between implementations).
double portable_log(double x);

}  // namespace shoal::detail
