#pragma once
// Device code for squared Euclidean distance tiles: row norms, and the epilogue that turns the
// cuBLAS cross term −2·X·Yᵀ into ‖x‖² + ‖y‖² − 2·x·y.

#include <cstdint>

#include "kernels/warp.cuh"

namespace shoal::kernels {

/// One warp per row: norms[i] = Σ_j X[i·ld + j]².
template <class T>
__global__ void row_sq_norms_kernel(const T* __restrict__ X, std::int64_t rows, std::int64_t cols,
                                    std::int64_t ld, T* __restrict__ norms) {
  const std::int64_t warp = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (warp >= rows) return;
  const T* x = X + warp * ld;
  T sum = 0;
  for (std::int64_t j = lane; j < cols; j += kWarp) sum += x[j] * x[j];
  sum = warp_sum(sum);
  if (lane == 0) norms[warp] = sum;
}

/// D[i·ld + j] = max(0, D[i·ld + j] + x_norms[i] + y_norms[j]) for a `[rows × cols]` tile
/// whose D already holds −2·x_i·y_j. One thread per element, flattened over the tile.
template <class T>
__global__ void add_norms_kernel(T* __restrict__ D, std::int64_t rows, std::int64_t cols,
                                 std::int64_t ld, const T* __restrict__ x_norms,
                                 const T* __restrict__ y_norms) {
  const std::int64_t index = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= rows * cols) return;
  const std::int64_t i = index / cols, j = index % cols;
  T& d = D[i * ld + j];
  d = max(T(0), d + x_norms[i] + y_norms[j]);
}

}  // namespace shoal::kernels
