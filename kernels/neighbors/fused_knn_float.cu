// Instantiations and launcher of the fused brute-force kNN.
#include "core/cuda_resources.cuh"
#include "kernels/neighbors/fused_knn.cuh"
#include "kernels/neighbors/fused_knn.hpp"
#include "kernels/neighbors/select_k.hpp"

namespace shoal::kernels::neighbors {

void fused_knn(const float* X, const float* norms, std::int64_t n, int d, std::int64_t first, std::int64_t last,
               int count, void* best, cudaStream_t stream) {
  if (last <= first) return;
  auto* out = static_cast<Candidate*>(best);
  static_assert(kFusedMaxDims == 64 && kSelectLimit == kMaxSelect);
  with_width(d, [&](auto width) {
    with_capacity(count, [&](auto capacity) {
      constexpr int kDims = decltype(width)::value, kCapacity = decltype(capacity)::value;
      constexpr std::int64_t kRowsPerBlock = std::int64_t{kFusedThreads} * fused_queries<kDims>();
      const auto blocks = static_cast<unsigned>((last - first + kRowsPerBlock - 1) / kRowsPerBlock);
      fused_knn_kernel<kDims, kCapacity><<<blocks, kFusedThreads, 0, stream>>>(X, norms, n, d, first, last, count, out);
    });
  });
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace shoal::kernels::neighbors
