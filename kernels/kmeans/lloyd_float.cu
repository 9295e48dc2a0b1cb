// float instantiations of the k-means kernels and their launchers.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>

#include "core/cuda_resources.cuh"
#include "kernels/kmeans/lloyd.cuh"
#include "kernels/kmeans/lloyd.hpp"

namespace shoal::kernels::kmeans {
namespace {

constexpr unsigned kBlock = 256;
constexpr unsigned kRowsPerBlock = kBlock / kWarp;

unsigned row_blocks(std::int64_t rows) { return static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock); }

int label_bits(int k) {
  int bits = 1;
  while ((std::int64_t{1} << bits) < k) ++bits;
  return bits;
}

}  // namespace

void nearest_centroid(const float* tile, const float* c_norms, float c_norm_max, double norm_error, GemmRounding dot,
                      const float* x, const float* x_norms, const float* centroids, std::int64_t rows, int k, int d,
                      std::int32_t* labels, double* distances, unsigned long long* counts, cudaStream_t stream) {
  if (rows == 0) return;
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  if (k % 4 == 0 && aligned(tile) && aligned(c_norms)) {
    nearest_centroid_kernel<true><<<row_blocks(rows), kBlock, 0, stream>>>(
        tile, c_norms, c_norm_max, norm_error, dot, x, x_norms, centroids, rows, k, d, labels, distances, counts);
  } else {
    nearest_centroid_kernel<false><<<row_blocks(rows), kBlock, 0, stream>>>(
        tile, c_norms, c_norm_max, norm_error, dot, x, x_norms, centroids, rows, k, d, labels, distances, counts);
  }
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

void labelled_distance(const float* x, const float* centroids, const std::int32_t* labels, std::int64_t rows, int d,
                       double* distances, cudaStream_t stream) {
  if (rows == 0) return;
  labelled_distance_kernel<<<row_blocks(rows), kBlock, 0, stream>>>(x, centroids, labels, rows, d, distances);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

void weighted_sum(const double* values, const float* weights, std::int64_t rows, double* partials, double* total,
                  cudaStream_t stream) {
  if (rows == 0) return;
  const int blocks = static_cast<int>(std::min<std::int64_t>(kMaxSumPartials, (rows + kBlock - 1) / kBlock));
  weighted_sum_partials_kernel<kBlock><<<blocks, kBlock, 0, stream>>>(values, weights, rows, partials);
  add_partials_kernel<<<1, 1, 0, stream>>>(partials, blocks, total);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

std::size_t cub_bytes(std::int64_t rows, int k) {
  std::size_t sort_bytes = 0, scan_bytes = 0;
  SHOAL_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, static_cast<const std::int32_t*>(nullptr),
                                                   static_cast<std::int32_t*>(nullptr),
                                                   static_cast<const std::int32_t*>(nullptr),
                                                   static_cast<std::int32_t*>(nullptr), rows, 0, label_bits(k)));
  SHOAL_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const std::int64_t*>(nullptr),
                                                 static_cast<std::int64_t*>(nullptr), k + 1));
  return std::max(sort_bytes, scan_bytes);
}

void fill_iota(std::int32_t* values, std::int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  iota_kernel<<<static_cast<unsigned>((count + kBlock - 1) / kBlock), kBlock, 0, stream>>>(values, count);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

void accumulate_cluster_sums(const float* x, const float* weights, const std::int32_t* labels, std::int64_t rows,
                             int k, int d, std::int64_t chunk_rows, const ClusterSumScratch& scratch, double* sums,
                             double* cluster_weights, cudaStream_t stream) {
  if (rows == 0) return;
  std::size_t bytes = scratch.cub_size;
  SHOAL_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(scratch.cub, bytes, labels, scratch.sorted_labels, scratch.order_in,
                                                   scratch.order, rows, 0, label_bits(k), stream));
  const unsigned cluster_blocks = static_cast<unsigned>((k + 1 + kBlock - 1) / kBlock);
  cluster_offsets_kernel<<<cluster_blocks, kBlock, 0, stream>>>(scratch.sorted_labels, rows, k, scratch.offsets);
  SHOAL_CUDA_CHECK(cudaMemsetAsync(scratch.chunk_counts + k, 0, sizeof(std::int64_t), stream));
  chunk_counts_kernel<<<cluster_blocks, kBlock, 0, stream>>>(scratch.offsets, k, chunk_rows, scratch.chunk_counts);
  bytes = scratch.cub_size;
  SHOAL_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(scratch.cub, bytes, scratch.chunk_counts, scratch.chunk_starts, k + 1,
                                                 stream));
  const std::int64_t chunks = max_chunks(rows, k, chunk_rows);
  const unsigned threads = static_cast<unsigned>(std::min(256, std::max(32, (d + 31) / 32 * 32)));
  chunk_sums_kernel<<<static_cast<unsigned>(chunks), threads, 0, stream>>>(
      x, weights, scratch.order, scratch.offsets, scratch.chunk_starts, k, d, chunk_rows, scratch.partials);
  cluster_sums_kernel<<<static_cast<unsigned>(k), threads, 0, stream>>>(scratch.partials, scratch.chunk_starts, d, sums,
                                                                        cluster_weights);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace shoal::kernels::kmeans
