#include "kmeans/device_plan.hpp"

#include <algorithm>

#include "core/check.hpp"

namespace shoal::kmeans::detail {
namespace {

// Distance tiles (kTileBuffers of them): cuBLAS's SGEMM runs faster on taller tiles (H100,
// d = 128, k = 1024: 36 TFLOP/s at 65,536 rows, 44 at 2^20), so the plan takes the large tile
// when X stays resident with it, and the small one otherwise.
constexpr std::size_t kLargeTileBytes = std::size_t{1} << 30;
constexpr std::size_t kSmallTileBytes = std::size_t{256} << 20;
constexpr std::size_t kSlack = std::size_t{16} << 20;       // CUB temporaries of the small scans, alignment

/// Bytes that depend on k only: centroids, their norms, double sums and weights, offsets.
std::size_t fixed_bytes(index_t d, index_t k) {
  return static_cast<std::size_t>(k) * (d * 4 + 4 + d * 8 + 8 + 4 * 8) + kSlack;
}

/// Bytes per batch row that exist once: distance (double), sort keys and values in and out,
/// CUB sort scratch, and the chunk partial sums of the reduction.
std::size_t scratch_per_row(index_t d) {
  return 8 + 16 + 8 + static_cast<std::size_t>(d + 1) * 8 / kReduceChunkRows + 1;
}

/// Bytes per batch row of the data itself: x, weight and label.
std::size_t data_per_row(index_t d) { return static_cast<std::size_t>(d) * 4 + 4 + 4; }

}  // namespace

DevicePlan plan_device(index_t n, index_t d, index_t k, std::size_t budget) {
  const std::size_t fixed = fixed_bytes(d, k) + static_cast<std::size_t>(k + 1) * (d + 1) * 8;  // + chunk partials of k clusters
  const auto tile_rows_for = [&](index_t rows, std::size_t tile_bytes = kSmallTileBytes) {
    return std::clamp<index_t>(static_cast<index_t>(tile_bytes / (static_cast<std::size_t>(k) * 4)), 1, rows);
  };
  DevicePlan plan;
  plan.batch_rows = n;
  for (const std::size_t tile_bytes : {kLargeTileBytes, kSmallTileBytes}) {
    plan.tile_rows = tile_rows_for(n, tile_bytes);
    plan.bytes = fixed + static_cast<std::size_t>(n) * (data_per_row(d) + scratch_per_row(d)) +
                 static_cast<std::size_t>(kTileBuffers * plan.tile_rows) * k * 4;
    if (plan.bytes <= budget) return plan;
  }

  // Streaming: two batch buffers of data (copy of batch i+1 beside compute on batch i).
  plan.resident = false;
  const std::size_t per_row = 2 * data_per_row(d) + scratch_per_row(d) + static_cast<std::size_t>(kTileBuffers * k) * 4;
  if (budget <= fixed + per_row) {
    throw OutOfMemory(shoal::detail::concat("k-means with k = ", k, ", d = ", d, " needs at least ", fixed + per_row,
                                            " bytes of device memory; the budget is ", budget));
  }
  // A batch's tile may be smaller than the batch; keep tiles at most the tile budget.
  const std::size_t rows_fit = (budget - fixed) / (2 * data_per_row(d) + scratch_per_row(d));
  plan.batch_rows = std::min<index_t>(n, static_cast<index_t>(rows_fit));
  plan.tile_rows = tile_rows_for(plan.batch_rows);
  while (plan.batch_rows > 1 &&
         fixed + static_cast<std::size_t>(plan.batch_rows) * (2 * data_per_row(d) + scratch_per_row(d)) +
                 static_cast<std::size_t>(kTileBuffers * plan.tile_rows) * k * 4 > budget) {
    plan.batch_rows = plan.batch_rows * 3 / 4;
    plan.tile_rows = tile_rows_for(plan.batch_rows);
  }
  plan.bytes = fixed + static_cast<std::size_t>(plan.batch_rows) * (2 * data_per_row(d) + scratch_per_row(d)) +
               static_cast<std::size_t>(kTileBuffers * plan.tile_rows) * k * 4;
  return plan;
}

}  // namespace shoal::kmeans::detail
