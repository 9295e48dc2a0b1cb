// Instantiations and launcher of the fused brute-force kNN.
#include "core/cuda_resources.cuh"
#include "kernels/neighbors/fused_knn.cuh"
#include "kernels/neighbors/fused_knn.hpp"
#include "kernels/neighbors/select_k.hpp"

namespace shoal::kernels::neighbors {
namespace {

template <int kDims, int kCapacity>
void launch(const float* X, const float* norms, std::int64_t n, int d, std::int64_t first, std::int64_t last, int count,
            Candidate* best, cudaStream_t stream) {
  constexpr std::int64_t kRowsPerBlock = std::int64_t{kFusedThreads} * fused_queries<kDims>();
  const auto blocks = static_cast<unsigned>((last - first + kRowsPerBlock - 1) / kRowsPerBlock);
  fused_knn_kernel<kDims, kCapacity><<<blocks, kFusedThreads, 0, stream>>>(X, norms, n, d, first, last, count, best);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

/// The smallest list capacity that holds `count`.
template <int kDims>
void launch_for_count(const float* X, const float* norms, std::int64_t n, int d, std::int64_t first,
                      std::int64_t last, int count, Candidate* best, cudaStream_t stream) {
  static_assert(kSelectLimit == 64);
  if (count <= 16) launch<kDims, 16>(X, norms, n, d, first, last, count, best, stream);
  else if (count <= 32) launch<kDims, 32>(X, norms, n, d, first, last, count, best, stream);
  else launch<kDims, 64>(X, norms, n, d, first, last, count, best, stream);
}

}  // namespace

void fused_knn(const float* X, const float* norms, std::int64_t n, int d, std::int64_t first, std::int64_t last,
               int count, void* best, cudaStream_t stream) {
  if (last <= first) return;
  auto* out = static_cast<Candidate*>(best);
  static_assert(kFusedMaxDims == 64);
  if (d <= 16) launch_for_count<16>(X, norms, n, d, first, last, count, out, stream);
  else if (d <= 32) launch_for_count<32>(X, norms, n, d, first, last, count, out, stream);
  else launch_for_count<64>(X, norms, n, d, first, last, count, out, stream);
}

}  // namespace shoal::kernels::neighbors
