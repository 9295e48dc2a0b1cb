// Instantiations and launchers of the k-smallest select.
#include "core/cuda_resources.cuh"
#include "kernels/neighbors/select_k.cuh"
#include "kernels/neighbors/select_k.hpp"

namespace shoal::kernels::neighbors {
namespace {

__global__ void clear_kernel(Candidate* best, std::int64_t entries) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < entries) best[i] = Candidate{FLT_MAX, -1};
}

}  // namespace

void select_k(const float* tile, std::int64_t rows, std::int64_t cols, const float* x_norms, const float* y_norms,
              std::int64_t first_col, int count, void* best, cudaStream_t stream) {
  if (rows == 0) return;
  constexpr unsigned kBlock = 128;
  const unsigned blocks = static_cast<unsigned>((rows * kWarp + kBlock - 1) / kBlock);
  auto* out = static_cast<Candidate*>(best);
  with_capacity(count, [&](auto capacity) {
    select_k_kernel<decltype(capacity)::value><<<blocks, kBlock, 0, stream>>>(tile, rows, cols, x_norms, y_norms, first_col, count, out);
  });
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

void clear_candidates(void* best, std::int64_t entries, cudaStream_t stream) {
  if (entries == 0) return;
  constexpr unsigned kBlock = 256;
  clear_kernel<<<static_cast<unsigned>((entries + kBlock - 1) / kBlock), kBlock, 0, stream>>>(static_cast<Candidate*>(best), entries);
  SHOAL_CUDA_CHECK(cudaGetLastError());
}

}  // namespace shoal::kernels::neighbors
