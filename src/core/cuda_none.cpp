// The CUDA entry points of a build without CUDA: no device, and a clear error if one is used.
#include "core/cuda_bridge.hpp"
#include "shoal/error.hpp"
#include "shoal/system.hpp"

namespace shoal {

const CudaStatus& cuda_status() {
  static const CudaStatus status{.compiled = false,
                                 .runtime_version = 0,
                                 .driver_version = 0,
                                 .devices = {},
                                 .message = "shoal was built without CUDA"};
  return status;
}

namespace detail {

class CudaResources {};

void CudaResourcesDeleter::operator()(CudaResources* resources) const noexcept { delete resources; }

CudaResourcesPtr make_cuda_resources(int /*device*/) {
  throw DeviceError("shoal was built without CUDA; rebuild with -DSHOAL_CUDA=ON to use a GPU");
}

}  // namespace detail
}  // namespace shoal
