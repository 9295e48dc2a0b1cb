#pragma once
// How the CUDA engine lays out device memory, as host arithmetic (so the CPU build and the
// tests can reason about it too): keep X resident when it fits the budget, otherwise stream
// it in double-buffered batches.

#include <cstddef>

#include "shoal/matrix.hpp"

namespace shoal::kmeans::detail {

struct DevicePlan {
  bool resident = true;     ///< X, weights and labels stay on the device for the whole fit
  index_t batch_rows = 0;   ///< rows assigned and summed per batch (n when resident)
  index_t tile_rows = 0;    ///< rows per cuBLAS distance tile inside a batch (kTileBuffers of them)
  std::size_t bytes = 0;    ///< device memory the plan uses
};

/// Distance tiles: the GEMM of one overlaps the nearest-centroid scan of the other.
inline constexpr index_t kTileBuffers = 2;

/// Rows of sorted labels summed by one block of the deterministic centroid reduction.
inline constexpr index_t kReduceChunkRows = 1024;

/// The plan for n points of dimension d and k centroids within `budget` bytes.
/// @throws OutOfMemory when not even a one-row batch fits
[[nodiscard]] DevicePlan plan_device(index_t n, index_t d, index_t k, std::size_t budget);

}  // namespace shoal::kmeans::detail
