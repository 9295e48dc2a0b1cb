#pragma once
// Per-row k smallest of a distance tile: one warp per query row. Every lane keeps a sorted
// list of the smallest entries of its stripe (the row's best so far from earlier database
// blocks included), then the 32 lists are merged by repeated warp minima. Ties go to the lower
// index.

#include <cfloat>
#include <cstdint>
#include <type_traits>

#include "kernels/warp.cuh"

namespace shoal::kernels::neighbors {
constexpr int kMaxSelect = 64;  // the most neighbours one select keeps per row

/// Calls f(std::integral_constant<int, C>{}) on the host with C the smallest list capacity (16,
/// 32 or kMaxSelect) that holds `count` ≤ kMaxSelect entries: the lists live in registers or
/// local memory, sized at compile time.
template <class F>
void with_capacity(int count, F&& f) {
  static_assert(kMaxSelect == 64);
  if (count <= 16) f(std::integral_constant<int, 16>{});
  else if (count <= 32) f(std::integral_constant<int, 32>{});
  else f(std::integral_constant<int, kMaxSelect>{});
}

struct Candidate {
  float distance;
  std::int32_t index;
};

__device__ inline bool before(Candidate a, Candidate b) {
  return a.distance < b.distance || (a.distance == b.distance && a.index < b.index);
}

/// Inserts c into the sorted list (held entries, room for count).
__device__ inline void insert(Candidate* list, int& held, int count, Candidate c) {
  if (held == count && !before(c, list[count - 1])) return;
  int at = held < count ? held++ : count - 1;
  while (at > 0 && before(c, list[at - 1])) {
    list[at] = list[at - 1];
    --at;
  }
  list[at] = c;
}

/// tile: [rows × cols] of −2·x·y for queries [0, rows) of this tile against database points
/// [first_col, first_col + cols). best: [rows × count] sorted lists for these queries,
/// updated in place (entries with index −1 are empty).
template <int kCapacity>
__global__ void select_k_kernel(const float* __restrict__ tile, std::int64_t rows, std::int64_t cols,
                                const float* __restrict__ x_norms, const float* __restrict__ y_norms,
                                std::int64_t first_col, int count, Candidate* __restrict__ best) {
  const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;  // whole warps exit together
  Candidate* out = best + row * count;
  Candidate mine[kCapacity];
  int held = 0;
  for (int i = lane; i < count; i += kWarp) {
    if (out[i].index >= 0) insert(mine, held, count, out[i]);
  }
  // A candidate that does not beat the row's count-th best so far cannot enter the result:
  // with that bound, blocks after the first insert almost nothing.
  const Candidate bound = out[count - 1].index >= 0 ? out[count - 1] : Candidate{FLT_MAX, 0x7fffffff};
  const float x_norm = x_norms[row];
  for (std::int64_t j = lane; j < cols; j += kWarp) {
    const Candidate c{fmaxf(0.0f, tile[row * cols + j] + x_norm + y_norms[j]),
                      static_cast<std::int32_t>(first_col + j)};
    if (before(c, bound)) insert(mine, held, count, c);
  }
  __syncwarp();  // every lane has read the previous list before lane 0 overwrites it
  int head = 0;
  for (int taken = 0; taken < count; ++taken) {
    Candidate offer = head < held ? mine[head] : Candidate{FLT_MAX, -1};
    int owner = head < held ? lane : kWarp;
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      const Candidate other{__shfl_xor_sync(0xffffffffu, offer.distance, offset),
                            __shfl_xor_sync(0xffffffffu, offer.index, offset)};
      const int other_owner = __shfl_xor_sync(0xffffffffu, owner, offset);
      const bool take_other = other_owner < kWarp && (owner == kWarp || before(other, offer));
      if (take_other) {
        offer = other;
        owner = other_owner;
      }
    }
    if (lane == owner) ++head;
    if (lane == 0) out[taken] = owner < kWarp ? offer : Candidate{FLT_MAX, -1};
  }
}

}  // namespace shoal::kernels::neighbors
