#pragma once
// Host-side launcher of the device Borůvka rounds (boruvka.cu; the kernels in boruvka.cuh).

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/hdbscan/boruvka_arrays.hpp"

namespace shoal::kernels::hdbscan {

/// Runs boruvka_rounds (boruvka.cuh) on `stream` over the device arrays `a`, from `components`
/// components.
RoundsOutcome boruvka_on_device(const Arrays& a, std::int64_t components, cudaStream_t stream);

}  // namespace shoal::kernels::hdbscan
