#pragma once
// The CUDA-free side of the CUDA resources: what context.cpp needs to own them without seeing
// a CUDA type. Defined in cuda_resources.cu, or by throwing stubs in cuda_none.cpp when shoal
// is built without CUDA.

#include <memory>

namespace shoal::detail {

class CudaResources;

struct CudaResourcesDeleter {
  void operator()(CudaResources* resources) const noexcept;
};
using CudaResourcesPtr = std::unique_ptr<CudaResources, CudaResourcesDeleter>;

/// Creates the stream, cuBLAS handle and (empty) workspace of a context on `device`.
/// @throws DeviceError when the device cannot be used
CudaResourcesPtr make_cuda_resources(int device);

}  // namespace shoal::detail
