#include "shoal/system.hpp"

#include <cstdio>
#include <cstdlib>

#include "core/check.hpp"
#include "core/simd.hpp"

// Set by src/CMakeLists.txt.
#ifndef SHOAL_VERSION
#error "SHOAL_VERSION must be defined by the build"
#endif

namespace shoal {

std::string version() { return SHOAL_VERSION; }

std::string cpu_kernels() {
  if (!detail::kHasAvx512) return "portable";
  std::string extensions;
  if (detail::kHasAvx512Bf16) extensions = "BF16";
  if (detail::kHasAvx512Vnni) extensions += extensions.empty() ? "VNNI" : " and VNNI";
  return extensions.empty() ? "AVX-512" : "AVX-512 with " + extensions;
}

BuildInfo build_info() {
  BuildInfo info;
  info.version = SHOAL_VERSION;
  info.build_type = SHOAL_BUILD_TYPE;
#ifdef SHOAL_WITH_CUDA
  info.cuda = true;
  info.cuda_architectures = SHOAL_CUDA_ARCHITECTURES;
  info.cuda_toolkit = SHOAL_CUDA_TOOLKIT_VERSION;
#endif
  info.blas = SHOAL_BLAS_NAME;
#ifdef _OPENMP
  info.openmp = _OPENMP;
#endif
  return info;
}

namespace detail {

void assert_fail(const char* condition, const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "shoal: internal error: %s:%d: assertion '%s' failed%s%s\n", file, line,
               condition, message.empty() ? "" : ": ", message.c_str());
  std::abort();
}

}  // namespace detail
}  // namespace shoal
