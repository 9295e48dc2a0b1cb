#pragma once
// x86 vector extensions: which the CPU has (read once), and the pragmas around AVX-512 code.

#include <immintrin.h>

#include <cstdint>
#include <cstdlib>

namespace shoal::detail {

/// Whether to run the AVX-512F versions of the kernels: the CPU has it, and SHOAL_NO_AVX512 is
/// unset (the tests set it to check the portable versions on machines that have AVX-512).
inline const bool kHasAvx512 = [] {
  if (const char* off = std::getenv("SHOAL_NO_AVX512"); off != nullptr && *off != '\0') return false;
  __builtin_cpu_init();  // may run before the runtime's own constructors
  return __builtin_cpu_supports("avx512f") != 0;
}();

/// Whether to run the AVX-512 BF16 kernels: as kHasAvx512, and the CPU has AVX512_BF16.
inline const bool kHasAvx512Bf16 = kHasAvx512 && __builtin_cpu_supports("avx512bf16") != 0;

/// Whether to run the AVX-512 VNNI kernels: as kHasAvx512, and the CPU has AVX512_VNNI, BW and VL.
inline const bool kHasAvx512Vnni = kHasAvx512 && __builtin_cpu_supports("avx512vnni") != 0 &&
                                   __builtin_cpu_supports("avx512bw") != 0 && __builtin_cpu_supports("avx512vl") != 0;

/// Lanes [0, count) of a 16-lane AVX-512 mask (none when count ≤ 0, all from 16 on).
inline __mmask16 first_lanes(std::int64_t count) {
  return static_cast<__mmask16>(count >= 16 ? 0xffffu : count <= 0 ? 0u : (1u << count) - 1u);
}

}  // namespace shoal::detail

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized inside their intrinsics (masked loads,
// min, max, reduce); these bracket functions that use them.
#define SHOAL_AVX512_BEGIN                                      \
  _Pragma("GCC diagnostic push")                                \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"") \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define SHOAL_AVX512_END _Pragma("GCC diagnostic pop")
