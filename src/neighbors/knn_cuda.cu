// Brute-force kNN on the GPU: X resident; up to 64 dimensions the fused kernel (no distance
// tile), above that cuBLAS tiles of −2·X_q·X_bᵀ over query tiles and database blocks with the
// select kernel. Either keeps the k + 1 + extra smallest per row; the candidates are then
// measured exactly in double on the host, as for FAISS's flat index.
#include <algorithm>
#include <limits>

#include "core/check.hpp"
#include "core/cuda_resources.cuh"
#include "kernels/distance/sq_l2.hpp"
#include "kernels/neighbors/fused_knn.hpp"
#include "kernels/neighbors/select_k.hpp"
#include "neighbors/knn.hpp"

namespace shoal::neighbors::detail {
namespace {

using shoal::detail::CudaResources;
using shoal::detail::DeviceScope;
using shoal::detail::Workspace;
using shoal::detail::WorkspaceCarver;

constexpr index_t kExtraCandidates = 8;
constexpr std::size_t kTileBytes = std::size_t{256} << 20;
/// Query rows per launch of the fused kernel: 4,096 blocks or more, enough to fill the device.
constexpr index_t kFusedQueryRows = index_t{1} << 20;

struct HostCandidate {
  float distance;
  std::int32_t index;
};

}  // namespace

Neighbors search_cuda(const Context& ctx, MatrixView<const float> X, index_t k, std::span<const char> settled) {
  const index_t n = X.rows(), d = X.cols();
  const index_t count = std::min<index_t>(n, std::min<index_t>(k + 1 + kExtraCandidates, kernels::neighbors::kSelectLimit));
  SHOAL_EXPECTS(count >= std::min<index_t>(n, k + 2), "the GPU kNN keeps at most ", kernels::neighbors::kSelectLimit - 2,
                " neighbours per point, got k = ", k);
  CudaResources& cuda = ctx.cuda();
  DeviceScope scope(cuda.device());
  const cudaStream_t stream = cuda.stream();

  const std::size_t resident = Workspace::bytes_for<float>(n * d) + Workspace::bytes_for<float>(n) +
                               Workspace::bytes_for<HostCandidate>(n * count);
  const std::size_t budget = shoal::detail::usable_device_memory(ctx);
  if (budget < resident + (std::size_t{16} << 20)) {
    throw OutOfMemory(shoal::detail::concat("the GPU kNN of ", n, " x ", d, " points needs ", resident,
                                            " bytes of device memory beyond its tiles; the budget is ", budget));
  }
  const bool fused = d <= kernels::neighbors::kFusedMaxDims;
  const std::size_t tile_bytes = fused ? 0 : std::min(kTileBytes, (budget - resident) / 2);
  const index_t block_cols = std::min<index_t>(n, 16384);
  const index_t query_rows =
      fused ? std::min(n, kFusedQueryRows)
            : std::max<index_t>(1, std::min<index_t>(n, static_cast<index_t>(tile_bytes / (sizeof(float) * block_cols))));

  const std::size_t tile_reserved = fused ? 0 : Workspace::bytes_for<float>(query_rows * block_cols);
  WorkspaceCarver carve(cuda.workspace().reserve(resident + tile_reserved + 4 * Workspace::kAlignment));
  float* x = carve.take<float>(n * d);
  float* norms = carve.take<float>(n);
  auto* best = carve.take<HostCandidate>(n * count);
  float* tile = fused ? nullptr : carve.take<float>(query_rows * block_cols);
  const Matrix<float> searched = centred(X);
  SHOAL_CUDA_CHECK(cudaMemcpyAsync(x, searched.data(), static_cast<std::size_t>(n * d) * sizeof(float),
                                   cudaMemcpyHostToDevice, stream));
  kernels::row_sq_norms(x, n, d, d, norms, stream);
  if (!fused) kernels::neighbors::clear_candidates(best, n * count, stream);
  for (index_t q = 0; q < n; q += query_rows) {
    const index_t rows = std::min(query_rows, n - q);
    if (fused) {
      kernels::neighbors::fused_knn(x, norms, n, static_cast<int>(d), q, q + rows, static_cast<int>(count), best, stream);
    } else {
      for (index_t b = 0; b < n; b += block_cols) {
        const index_t cols = std::min(block_cols, n - b);
        kernels::gemm_minus_two_xyt(cuda.cublas(), x + q * d, d, rows, x + b * d, d, cols, d, tile, cols);
        kernels::neighbors::select_k(tile, rows, cols, norms + q, norms + b, b, static_cast<int>(count),
                                     best + q * count, stream);
      }
    }
    ctx.report_progress("knn", static_cast<double>(q + rows) / static_cast<double>(n));
  }
  std::vector<HostCandidate> found(static_cast<std::size_t>(n * count));
  SHOAL_CUDA_CHECK(cudaMemcpyAsync(found.data(), best, found.size() * sizeof(HostCandidate), cudaMemcpyDeviceToHost, stream));
  cuda.synchronize();

  std::vector<std::int32_t> candidates(found.size());
  std::vector<float> last_sq(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    for (index_t j = 0; j < count; ++j) candidates[i * count + j] = found[i * count + j].index;
    last_sq[i] = found[i * count + count - 1].distance;
  }
  Neighbors out;
  out.n = n;
  out.k = k;
  out.index = Index::Flat;
  out.backend = Backend::Cuda;
  out.indices.resize(n * k);
  out.distances.resize(n * k);
  out.radius.resize(n);
  finish_float_ranked(ctx, X, 0, n, count, candidates.data(), last_sq.data(), sq_norms(searched), settled, out);
  return out;
}

}  // namespace shoal::neighbors::detail
