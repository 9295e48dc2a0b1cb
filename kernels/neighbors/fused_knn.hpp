#pragma once
// Host-side launcher of the fused brute-force kNN for low dimensions (fused_knn_float.cu).

#include <cuda_runtime.h>

#include <cstdint>

namespace shoal::kernels::neighbors {

/// The most dimensions the fused kNN takes: its queries live in registers. Above, the tiled
/// path (cuBLAS and select_k) does the work, and its GEMMs are no longer bound by memory.
inline constexpr int kFusedMaxDims = 64;

/// See fused_knn_kernel: the `count` (≤ kSelectLimit) nearest of all n database points, by
/// float squared distance, for query rows [first, last) of the device matrix X [n × d]
/// (d ≤ kFusedMaxDims) with row norms `norms`, into `best` ([n × count] {float distance,
/// int32 index} pairs, rows indexed from 0), nearest first.
void fused_knn(const float* X, const float* norms, std::int64_t n, int d, std::int64_t first, std::int64_t last,
               int count, void* best, cudaStream_t stream);

}  // namespace shoal::kernels::neighbors
