#pragma once
// The CUDA side of k-means, callable from CUDA-free code; defined only in CUDA builds
// (lloyd_cuda.cu), and called only when Context::backend_for chose Cuda.

#include <memory>
#include <span>

#include "kmeans/lloyd.hpp"

namespace shoal::kmeans::detail {

/// The CUDA engine of Lloyd for k centroids: X resident on the device when it fits the
/// context's budget, otherwise streamed in double-buffered batches (see device_plan.hpp).
std::unique_ptr<LloydEngine> make_cuda_engine(const Context& ctx, MatrixView<const float> X,
                                              std::span<const float> weights, index_t k);

/// Nearest row of C for every row of X on the GPU, exact like assign_nearest_cpu.
void assign_nearest_cuda(const Context& ctx, MatrixView<const float> X, MatrixView<const float> C,
                         std::int32_t* labels);

}  // namespace shoal::kmeans::detail
