#pragma once
// Device code of k-means: the exact nearest-centroid kernel that reads a cuBLAS distance tile,
// direct distances, and the deterministic centroid reduction over rows sorted by label.
// No float atomics: every sum is formed in a fixed order.

#include <cstdint>
#include <cfloat>

#include "kernels/distance/gemm_rounding.hpp"
#include "kernels/warp.cuh"

namespace shoal::kernels::kmeans {
constexpr int kScanUnroll = 8;  // tile loads in flight per lane in nearest_centroid_kernel

struct BestTwo {
  float first;
  float second;
  int index;
};

/// Merges two (smallest, its index, second smallest) summaries; ties go to the lower index.
__device__ inline BestTwo merge(BestTwo a, BestTwo b) {
  if (b.first < a.first || (b.first == a.first && b.index < a.index)) {
    return {b.first, fminf(b.second, a.first), b.index};
  }
  return {a.first, fminf(a.second, b.first), a.index};
}

/// Σ_t (x_t − c_t)² in double, summed by the warp (lanes over t).
__device__ inline double warp_sq_distance(const float* __restrict__ x, const float* __restrict__ c, int d, int lane) {
  double sum = 0.0;
  for (int t = lane; t < d; t += kWarp) {
    const double diff = static_cast<double>(x[t]) - c[t];
    sum += diff * diff;
  }
  return warp_sum(sum);
}

/// One warp per row of a tile. `tile` holds −2·x·c_j (row-major, leading dimension k); with
/// the centroid norms it gives v_j = ‖c_j‖² − 2·x·c_j, whose argmin is the nearest centroid.
/// kVector: k is a multiple of 4 and the tile and the norms are 16-byte aligned (float4 loads).
/// Each v is off by at most norm_error·‖c‖² (the float norms and the scan's addition) plus
/// twice the GEMM's bound `dot`; when the two best v are within twice that, the row is decided
/// again in double over all centroids (a close call). Writes the label and the direct ‖x − c‖²
/// in double, so neither depends on the GEMM's precision; counts[0] += rows whose label
/// changed, counts[1] += close calls.
template <bool kVector>
__global__ void nearest_centroid_kernel(const float* __restrict__ tile, const float* __restrict__ c_norms,
                                        float c_norm_max, double norm_error, GemmRounding dot,
                                        const float* __restrict__ x, const float* __restrict__ x_norms,
                                        const float* __restrict__ centroids, std::int64_t rows, int k, int d,
                                        std::int32_t* __restrict__ labels, double* __restrict__ distances,
                                        unsigned long long* __restrict__ counts) {
  const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  int changed_here = 0, close_here = 0;
  if (row < rows) {
    const float* v = tile + row * k;
    // Each lane scans its stripe in increasing j (a tie keeps the lower index), kScanUnroll
    // loads in flight: the scan is bound by latency, not bandwidth (H100, k = 1024: about
    // 1 TB/s). The tile is read once, so its loads bypass the cache (__ldcs).
    float first = FLT_MAX, second = FLT_MAX;
    int index = 0x7fffffff;
    const auto take = [&](float value, int j) {
      if (value < first) {
        second = first;
        first = value;
        index = j;
      } else {
        second = fminf(second, value);
      }
    };
    if constexpr (kVector) {
      const auto* v4 = reinterpret_cast<const float4*>(v);
      const auto* n4 = reinterpret_cast<const float4*>(c_norms);
      const auto take4 = [&](float4 t, float4 c, int q) {
        take(t.x + c.x, 4 * q);
        take(t.y + c.y, 4 * q + 1);
        take(t.z + c.z, 4 * q + 2);
        take(t.w + c.w, 4 * q + 3);
      };
      const int quads = k / 4;
      int q = lane;
      for (; q + (kScanUnroll - 1) * kWarp < quads; q += kScanUnroll * kWarp) {
        float4 values[kScanUnroll];
#pragma unroll
        for (int u = 0; u < kScanUnroll; ++u) values[u] = __ldcs(v4 + q + u * kWarp);
#pragma unroll
        for (int u = 0; u < kScanUnroll; ++u) take4(values[u], n4[q + u * kWarp], q + u * kWarp);
      }
      for (; q < quads; q += kWarp) take4(__ldcs(v4 + q), n4[q], q);
    } else {
      int j = lane;
      for (; j + (kScanUnroll - 1) * kWarp < k; j += kScanUnroll * kWarp) {
        float values[kScanUnroll];
#pragma unroll
        for (int u = 0; u < kScanUnroll; ++u) values[u] = __ldcs(v + j + u * kWarp) + c_norms[j + u * kWarp];
#pragma unroll
        for (int u = 0; u < kScanUnroll; ++u) take(values[u], j + u * kWarp);
      }
      for (; j < k; j += kWarp) take(__ldcs(v + j) + c_norms[j], j);
    }
    BestTwo best{first, second, index};
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      const BestTwo other{__shfl_xor_sync(0xffffffffu, best.first, offset),
                          __shfl_xor_sync(0xffffffffu, best.second, offset),
                          __shfl_xor_sync(0xffffffffu, best.index, offset)};
      best = merge(best, other);
    }
    const float* xr = x + row * d;
    const double x_norm = sqrt(static_cast<double>(x_norms[row])), c_norm = sqrt(static_cast<double>(c_norm_max));
    const double margin =
        2.0 * (norm_error * c_norm_max + 2.0 * (dot.unit * x_norm * c_norm + dot.floor * (x_norm + c_norm + 1.0)));
    int label = best.index;
    if (static_cast<double>(best.second) - best.first <= margin) {
      // Near tie: exact double distances, each lane over a share of the centroids.
      double lane_best = DBL_MAX;
      int lane_index = 0x7fffffff;
      for (int j = lane; j < k; j += kWarp) {
        double sum = 0.0;
        const float* c = centroids + static_cast<std::int64_t>(j) * d;
        for (int t = 0; t < d; ++t) {
          const double diff = static_cast<double>(xr[t]) - c[t];
          sum += diff * diff;
        }
        if (sum < lane_best) {
          lane_best = sum;
          lane_index = j;
        }
      }
      for (int offset = kWarp / 2; offset > 0; offset /= 2) {
        const double other = __shfl_xor_sync(0xffffffffu, lane_best, offset);
        const int other_index = __shfl_xor_sync(0xffffffffu, lane_index, offset);
        if (other < lane_best || (other == lane_best && other_index < lane_index)) {
          lane_best = other;
          lane_index = other_index;
        }
      }
      label = lane_index;
      close_here = lane == 0;
    }
    const double distance = warp_sq_distance(xr, centroids + static_cast<std::int64_t>(label) * d, d, lane);
    if (lane == 0) {
      changed_here = labels[row] != label;
      labels[row] = label;
      distances[row] = distance;
    }
  }
  // One atomic per block and count: integer counts are exact in any order.
  const int block_changed = __syncthreads_count(changed_here), block_close = __syncthreads_count(close_here);
  if (threadIdx.x == 0 && block_changed > 0) atomicAdd(counts, static_cast<unsigned long long>(block_changed));
  if (threadIdx.x == 0 && block_close > 0) atomicAdd(counts + 1, static_cast<unsigned long long>(block_close));
}

/// One warp per row: distances[r] = ‖x_r − c_{labels[r]}‖² in double.
__global__ void labelled_distance_kernel(const float* __restrict__ x, const float* __restrict__ centroids,
                                         const std::int32_t* __restrict__ labels, std::int64_t rows, int d,
                                         double* __restrict__ distances) {
  const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const double distance =
      warp_sq_distance(x + row * d, centroids + static_cast<std::int64_t>(labels[row]) * d, d, lane);
  if (lane == 0) distances[row] = distance;
}

/// Block partial sums of w[r]·values[r] (w may be null) over a grid-stride loop; the grid size
/// depends on the row count only, so the result is the same on every run.
template <int kThreads>
__global__ void weighted_sum_partials_kernel(const double* __restrict__ values, const float* __restrict__ weights,
                                             std::int64_t rows, double* __restrict__ partials) {
  __shared__ double shared[kThreads];
  double sum = 0.0;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x; r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * kThreads) {
    sum += values[r] * (weights != nullptr ? static_cast<double>(weights[r]) : 1.0);
  }
  shared[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = shared[0];
}

/// *total += Σ partials[0..count), in order (one thread: count is at most a few thousand).
__global__ void add_partials_kernel(const double* __restrict__ partials, int count, double* __restrict__ total) {
  double sum = 0.0;
  for (int i = 0; i < count; ++i) sum += partials[i];
  *total += sum;
}

/// offsets[c] = first position of label c in `sorted` (length rows), for c in [0, k].
__global__ void cluster_offsets_kernel(const std::int32_t* __restrict__ sorted, std::int64_t rows, int k,
                                       std::int64_t* __restrict__ offsets) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c > k) return;
  std::int64_t low = 0, high = rows;
  while (low < high) {
    const std::int64_t mid = (low + high) / 2;
    if (sorted[mid] < c) low = mid + 1;
    else high = mid;
  }
  offsets[c] = low;
}

/// chunk_counts[c] = ⌈size of cluster c / chunk_rows⌉.
__global__ void chunk_counts_kernel(const std::int64_t* __restrict__ offsets, int k, std::int64_t chunk_rows,
                                    std::int64_t* __restrict__ chunk_counts) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= k) return;
  chunk_counts[c] = (offsets[c + 1] - offsets[c] + chunk_rows - 1) / chunk_rows;
}

/// One block per chunk of at most chunk_rows rows of one cluster (rows sorted by label, then
/// by index): partials[b·(d+1) + t] = Σ w·x_t over the chunk, in row order, and
/// partials[b·(d+1) + d] = Σ w. Blocks past the last chunk do nothing.
__global__ void chunk_sums_kernel(const float* __restrict__ x, const float* __restrict__ weights,
                                  const std::int32_t* __restrict__ order, const std::int64_t* __restrict__ offsets,
                                  const std::int64_t* __restrict__ chunk_starts, int k, int d, std::int64_t chunk_rows,
                                  double* __restrict__ partials) {
  const std::int64_t chunk = blockIdx.x;
  if (chunk >= chunk_starts[k]) return;
  int low = 0, high = k;  // the cluster c with chunk_starts[c] <= chunk < chunk_starts[c + 1]
  while (high - low > 1) {
    const int mid = (low + high) / 2;
    if (chunk_starts[mid] <= chunk) low = mid;
    else high = mid;
  }
  const int c = low;
  const std::int64_t begin = offsets[c] + (chunk - chunk_starts[c]) * chunk_rows;
  const std::int64_t end = min(offsets[c + 1], begin + chunk_rows);
  double* out = partials + chunk * (d + 1);
  for (int t = threadIdx.x; t < d; t += blockDim.x) {
    double sum = 0.0;
    for (std::int64_t p = begin; p < end; ++p) {
      const std::int64_t r = order[p];
      sum += (weights != nullptr ? static_cast<double>(weights[r]) : 1.0) * x[r * d + t];
    }
    out[t] = sum;
  }
  if (threadIdx.x == 0) {
    double weight = 0.0;
    for (std::int64_t p = begin; p < end; ++p) weight += weights != nullptr ? static_cast<double>(weights[order[p]]) : 1.0;
    out[d] = weight;
  }
}

/// One block per cluster: adds its chunks' partial sums, in chunk order, to sums and weights.
__global__ void cluster_sums_kernel(const double* __restrict__ partials, const std::int64_t* __restrict__ chunk_starts,
                                    int d, double* __restrict__ sums, double* __restrict__ weights) {
  const int c = blockIdx.x;
  const std::int64_t first = chunk_starts[c], last = chunk_starts[c + 1];
  for (int t = threadIdx.x; t <= d; t += blockDim.x) {
    double sum = 0.0;
    for (std::int64_t chunk = first; chunk < last; ++chunk) sum += partials[chunk * (d + 1) + t];
    if (t < d) sums[static_cast<std::int64_t>(c) * d + t] += sum;
    else weights[c] += sum;
  }
}

__global__ void iota_kernel(std::int32_t* __restrict__ values, std::int64_t count) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) values[i] = static_cast<std::int32_t>(i);
}

}  // namespace shoal::kernels::kmeans
