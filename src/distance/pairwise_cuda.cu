// Host glue for the full distance matrix on the GPU: Y stays resident when it fits, X streams
// through in row tiles sized from the memory budget (as FAISS's chooseTileSize does).
#include <algorithm>

#include "core/check.hpp"
#include "core/cuda_resources.cuh"
#include "distance/distance.hpp"
#include "kernels/distance/sq_l2.hpp"

namespace shoal::detail {

Matrix<float> pairwise_sq_l2_cuda(const Context& ctx, MatrixView<const float> X,
                                  MatrixView<const float> Y) {
  SHOAL_EXPECTS(X.cols() == Y.cols(), "pairwise distances need equal dimensions, got ", X.cols(),
                " and ", Y.cols());
  Matrix<float> out(X.rows(), Y.rows());
  if (out.empty()) return out;
  CudaResources& cuda = ctx.cuda();
  DeviceScope scope(cuda.device());
  const cudaStream_t stream = cuda.stream();
  const index_t d = X.cols(), n = Y.rows();

  // Resident: Y and its norms. Per X row: the row, its norm and a row of the output tile.
  const std::size_t resident = Workspace::bytes_for<float>(n * d) + Workspace::bytes_for<float>(n);
  const std::size_t per_row = sizeof(float) * static_cast<std::size_t>(d + 1 + n);
  const std::size_t budget = usable_device_memory(ctx);
  if (budget < resident + 3 * Workspace::kAlignment + per_row) {
    throw OutOfMemory(concat("pairwise distances need ", resident + per_row,
                             " bytes of device memory, but the budget is ", budget));
  }
  const index_t tile_rows =
      std::min<index_t>(X.rows(), static_cast<index_t>((budget - resident - 3 * Workspace::kAlignment) / per_row));

  Workspace& workspace = cuda.workspace();
  WorkspaceCarver carve(workspace.reserve(resident + 3 * Workspace::kAlignment +
                                          per_row * static_cast<std::size_t>(tile_rows)));
  float* y = carve.take<float>(n * d);
  float* y_norms = carve.take<float>(n);
  float* x = carve.take<float>(tile_rows * d);
  float* x_norms = carve.take<float>(tile_rows);
  float* tile = carve.take<float>(tile_rows * n);

  SHOAL_CUDA_CHECK(cudaMemcpy2DAsync(y, d * sizeof(float), Y.data(), Y.stride() * sizeof(float),
                                     d * sizeof(float), n, cudaMemcpyHostToDevice, stream));
  kernels::row_sq_norms(y, n, d, d, y_norms, stream);
  for (index_t begin = 0; begin < X.rows(); begin += tile_rows) {
    const index_t rows = std::min(tile_rows, X.rows() - begin);
    SHOAL_CUDA_CHECK(cudaMemcpy2DAsync(x, d * sizeof(float), X.row(begin),
                                       X.stride() * sizeof(float), d * sizeof(float), rows,
                                       cudaMemcpyHostToDevice, stream));
    kernels::row_sq_norms(x, rows, d, d, x_norms, stream);
    kernels::sq_l2_tile(cuda.cublas(), stream, x, d, x_norms, rows, y, d, y_norms, n, d, tile, n);
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(out.row(begin), tile, sizeof(float) * rows * n,
                                     cudaMemcpyDeviceToHost, stream));
  }
  cuda.synchronize();
  return out;
}

}  // namespace shoal::detail
