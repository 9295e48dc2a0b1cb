#pragma once
/// @file
/// @brief What this build of shoal is and which CUDA devices it sees.

#include <cstddef>
#include <string>
#include <vector>

namespace shoal {

/// How the library was built.
struct BuildInfo {
  std::string version;             ///< e.g. "0.1.0"
  std::string build_type;          ///< CMake build type, e.g. "Release"
  bool cuda = false;               ///< the CUDA backend was compiled in
  std::string cuda_architectures;  ///< e.g. "80;90", empty without CUDA
  std::string cuda_toolkit;        ///< toolkit version compiled against, empty without CUDA
  std::string blas;                ///< BLAS library linked
  int openmp = 0;                  ///< OpenMP version macro (_OPENMP)
};

/// One CUDA device.
struct DeviceProperties {
  int id = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
  std::size_t total_memory = 0;  ///< bytes
  std::size_t free_memory = 0;   ///< bytes, when queried
};

/// The CUDA runtime as this process sees it, queried once per process.
struct CudaStatus {
  bool compiled = false;        ///< the CUDA backend was compiled in
  int runtime_version = 0;      ///< e.g. 13000 for 13.0, 0 when unknown
  int driver_version = 0;       ///< 0 when no driver is installed
  std::vector<DeviceProperties> devices;
  std::string message;          ///< why no device is usable, when `devices` is empty
};

/// The vector extensions of this CPU that shoal's CPU kernels use, e.g. "AVX-512 with BF16
/// and VNNI", or "portable" (no AVX-512, or the SHOAL_NO_AVX512 environment variable set).
/// k-means scores centroids in 8-bit integers with VNNI and in bf16 with BF16, else with a
/// float GEMM (docs/kmeans.md); the labels are the same on every path.
[[nodiscard]] std::string cpu_kernels();

/// Version string, e.g. "0.1.0".
[[nodiscard]] std::string version();
[[nodiscard]] BuildInfo build_info();
/// Queries the CUDA runtime on the first call (never when shoal was built without CUDA) and
/// returns the cached answer afterwards.
[[nodiscard]] const CudaStatus& cuda_status();

}  // namespace shoal
