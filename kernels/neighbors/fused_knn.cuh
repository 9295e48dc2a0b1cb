#pragma once
// Brute-force k nearest neighbours of low-dimensional points with no distance tile: each thread
// holds kQueries queries in registers with their sorted lists, while its block streams every
// database point through shared memory, a chunk at a time. In 16 dimensions a tile of −2·x·yᵀ
// costs one write and one read of 4 bytes per 16 multiply-adds, so the tiled path (cuBLAS and
// select_k) moved 8 TB at 1,000,000 points; here the points are read once per block.
// Distances are (−2·x·y + ‖x‖²) + ‖y‖² in float, as the tiled path forms them, so the host's
// rounding bound for those (float_ranked_radius) covers them too. Ties go to the lower index.

#include <cfloat>
#include <cstdint>

#include "kernels/neighbors/select_k.cuh"

namespace shoal::kernels::neighbors {

constexpr int kFusedThreads = 128;  // threads per block
constexpr int kFusedChunk = 128;    // database points staged in shared memory per pass

/// Queries per thread: two share each point read from shared memory while their coordinates
/// fit in registers.
template <int kDims>
constexpr int fused_queries() {
  return kDims <= 32 ? 2 : 1;
}

/// Calls f(std::integral_constant<int, W>{}) on the host with W the kernel's smallest width
/// (16, 32 or 64 coordinates) that holds d ≤ 64.
template <class F>
void with_width(int d, F&& f) {
  if (d <= 16) f(std::integral_constant<int, 16>{});
  else if (d <= 32) f(std::integral_constant<int, 32>{});
  else f(std::integral_constant<int, 64>{});
}

/// X: [n × d] row-major, norms[i] = ‖X_i‖², d ≤ kDims (coordinates past d count as 0). Writes
/// the `count` ≤ kCapacity nearest database points of every query row in [first, last) to
/// best[row · count ...], nearest first; a list shorter than count (n < count) ends in empty
/// entries (index −1).
template <int kDims, int kCapacity>
__global__ void __launch_bounds__(kFusedThreads)
    fused_knn_kernel(const float* __restrict__ X, const float* __restrict__ norms, std::int64_t n, int d,
                     std::int64_t first, std::int64_t last, int count, Candidate* __restrict__ best) {
  static_assert(kDims % 4 == 0, "points are read from shared memory four coordinates at a time");
  constexpr int kQueries = fused_queries<kDims>();
  __shared__ float4 points[kFusedChunk][kDims / 4];
  __shared__ float point_norms[kFusedChunk];

  // Query s of this thread; rows past `last` compute like the others (the block must stage
  // every chunk together) but write nothing.
  std::int64_t row[kQueries];
  float query[kQueries][kDims];
  float query_norm[kQueries];
  Candidate list[kQueries][kCapacity];
  int held[kQueries];
  Candidate bound[kQueries];  // the list's last entry once full: what a candidate must beat
#pragma unroll
  for (int s = 0; s < kQueries; ++s) {
    row[s] = first + (static_cast<std::int64_t>(blockIdx.x) * kQueries + s) * kFusedThreads + threadIdx.x;
    const bool valid = row[s] < last;
#pragma unroll
    for (int j = 0; j < kDims; ++j) query[s][j] = valid && j < d ? X[row[s] * d + j] : 0.0f;
    query_norm[s] = valid ? norms[row[s]] : 0.0f;
    held[s] = 0;
    bound[s] = Candidate{FLT_MAX, 0x7fffffff};
  }

  float* staged = reinterpret_cast<float*>(points);
  for (std::int64_t base = 0; base < n; base += kFusedChunk) {
    const int chunk = static_cast<int>(n - base < kFusedChunk ? n - base : kFusedChunk);
    __syncthreads();  // every thread is done with the previous chunk
    for (int e = threadIdx.x; e < kFusedChunk * kDims; e += kFusedThreads) {
      const int p = e / kDims, j = e % kDims;
      staged[e] = p < chunk && j < d ? X[(base + p) * d + j] : 0.0f;
    }
    for (int p = threadIdx.x; p < kFusedChunk; p += kFusedThreads) point_norms[p] = p < chunk ? norms[base + p] : 0.0f;
    __syncthreads();
    for (int p = 0; p < chunk; ++p) {
      float dot[kQueries];
#pragma unroll
      for (int s = 0; s < kQueries; ++s) dot[s] = 0.0f;
#pragma unroll
      for (int j = 0; j < kDims / 4; ++j) {
        const float4 y = points[p][j];  // the same address in every lane: a broadcast
#pragma unroll
        for (int s = 0; s < kQueries; ++s) {
          dot[s] = fmaf(query[s][4 * j], y.x, dot[s]);
          dot[s] = fmaf(query[s][4 * j + 1], y.y, dot[s]);
          dot[s] = fmaf(query[s][4 * j + 2], y.z, dot[s]);
          dot[s] = fmaf(query[s][4 * j + 3], y.w, dot[s]);
        }
      }
      const auto index = static_cast<std::int32_t>(base + p);
#pragma unroll
      for (int s = 0; s < kQueries; ++s) {
        const Candidate c{fmaxf(0.0f, (-2.0f * dot[s] + query_norm[s]) + point_norms[p]), index};
        if (before(c, bound[s])) {  // after the first few chunks, rare
          insert(list[s], held[s], count, c);
          if (held[s] == count) bound[s] = list[s][count - 1];
        }
      }
    }
  }
#pragma unroll
  for (int s = 0; s < kQueries; ++s) {
    if (row[s] >= last) continue;
    Candidate* out = best + row[s] * count;
    for (int i = 0; i < count; ++i) out[i] = i < held[s] ? list[s][i] : Candidate{FLT_MAX, -1};
  }
}

}  // namespace shoal::kernels::neighbors
