#pragma once
// What every kernel that works a warp at a time shares: its width and its sum.

namespace shoal::kernels {

constexpr int kWarp = 32;

/// The sum of `value` over the warp's lanes, in every lane (a butterfly: the same order of
/// additions on every run).
template <class T>
__device__ inline T warp_sum(T value) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

}  // namespace shoal::kernels
