#pragma once
// Host-side launchers of the k-means kernels (lloyd_float.cu). All work goes on `stream`.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/distance/gemm_rounding.hpp"

namespace shoal::kernels::kmeans {

/// Labels and direct distances for `rows` rows, from a tile of −2·x·c (leading dimension k)
/// whose entries the GEMM rounded within `dot`; counts[0] += changed labels, counts[1] += close
/// calls decided in double. See nearest_centroid_kernel.
void nearest_centroid(const float* tile, const float* c_norms, float c_norm_max, double norm_error, GemmRounding dot,
                      const float* x, const float* x_norms, const float* centroids, std::int64_t rows, int k, int d,
                      std::int32_t* labels, double* distances, unsigned long long* counts, cudaStream_t stream);

/// distances[r] = ‖x_r − c_{labels[r]}‖² in double.
void labelled_distance(const float* x, const float* centroids, const std::int32_t* labels, std::int64_t rows, int d,
                       double* distances, cudaStream_t stream);

/// Partial sums that weighted_sum needs room for.
inline constexpr int kMaxSumPartials = 1024;

/// *total += Σ w[r]·values[r] (w may be null), deterministic; `partials` holds kMaxSumPartials.
void weighted_sum(const double* values, const float* weights, std::int64_t rows, double* partials, double* total,
                  cudaStream_t stream);

/// Scratch of accumulate_cluster_sums for batches of at most `rows` rows.
struct ClusterSumScratch {
  std::int32_t* sorted_labels = nullptr;  ///< [rows]
  std::int32_t* order_in = nullptr;       ///< [rows], 0..rows−1 (fill_iota once)
  std::int32_t* order = nullptr;          ///< [rows]
  std::int64_t* offsets = nullptr;        ///< [k + 1]
  std::int64_t* chunk_counts = nullptr;   ///< [k + 1]
  std::int64_t* chunk_starts = nullptr;   ///< [k + 1]
  double* partials = nullptr;             ///< [max_chunks(rows, k) × (d + 1)]
  void* cub = nullptr;                    ///< cub_bytes(rows, k)
  std::size_t cub_size = 0;
};

/// Upper bound on the reduction chunks of `rows` rows in k clusters.
inline std::int64_t max_chunks(std::int64_t rows, int k, std::int64_t chunk_rows) { return rows / chunk_rows + k; }
/// CUB temporary storage for sorting `rows` labels below k and scanning k + 1 counts.
std::size_t cub_bytes(std::int64_t rows, int k);
void fill_iota(std::int32_t* values, std::int64_t count, cudaStream_t stream);

/// sums[c] += Σ w·x and weights[c] += Σ w over the rows labelled c, deterministically: rows
/// are sorted by label (stable radix sort), cut into chunks of at most kReduceChunkRows rows,
/// each chunk summed in row order by one block, and the chunks of a cluster added in order.
void accumulate_cluster_sums(const float* x, const float* weights, const std::int32_t* labels, std::int64_t rows,
                             int k, int d, std::int64_t chunk_rows, const ClusterSumScratch& scratch, double* sums,
                             double* cluster_weights, cudaStream_t stream);

}  // namespace shoal::kernels::kmeans
