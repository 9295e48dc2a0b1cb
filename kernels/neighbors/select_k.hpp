#pragma once
// Host-side launcher of the k-smallest select (select_k_float.cu).

#include <cuda_runtime.h>

#include <cstdint>

namespace shoal::kernels::neighbors {

/// The most neighbours a select keeps per row.
inline constexpr int kSelectLimit = 64;

/// See select_k_kernel: merges the `count` smallest of a tile into each row's running list.
/// `best` points at [rows × count] {float distance, int32 index} pairs.
void select_k(const float* tile, std::int64_t rows, std::int64_t cols, const float* x_norms, const float* y_norms,
              std::int64_t first_col, int count, void* best, cudaStream_t stream);

/// Fills `rows × count` entries of `best` with empty candidates.
void clear_candidates(void* best, std::int64_t entries, cudaStream_t stream);

}  // namespace shoal::kernels::neighbors
