#pragma once
/// @file
/// @brief The Context: which backend runs a call, and the resources it runs with.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace shoal {

/// Where work runs. `Auto` uses a CUDA device when one is present and the work is large
/// enough to repay the transfer, and the CPU otherwise.
enum class Backend { Auto, Cpu, Cuda };

/// "auto", "cpu" or "cuda".
[[nodiscard]] std::string_view to_string(Backend backend);

/// Parses "auto", "cpu" or "cuda".
/// @throws InvalidArgument for any other name
[[nodiscard]] Backend parse_backend(std::string_view name);

/// Called from the calling thread while long work runs: `stage` names the step ("lloyd",
/// "knn", …) and `fraction` in [0, 1] says how far it is.
using ProgressCallback = std::function<void(std::string_view stage, double fraction)>;

namespace detail {
class CudaResources;  // stream, cuBLAS handle and workspace; defined only in CUDA sources
}

/// @brief Execution context of every shoal call: backend, CUDA device, CPU threads, default
/// seed, device memory budget and progress callback.
///
/// Devices are detected once, when the context is built. CUDA state (stream, cuBLAS handle,
/// workspace) is created on first use, so a context that only runs CPU work never touches the
/// CUDA runtime. A context is not meant to be used from two threads at once; give each thread
/// its own.
/// @code
/// shoal::Context ctx;                 // Auto: a GPU when present, the CPU otherwise
/// shoal::Context cpu(shoal::Backend::Cpu);
/// cpu.set_threads(4);
/// @endcode
class Context {
 public:
  /// @param[in] backend Auto (default), Cpu or Cuda
  /// @param[in] device  CUDA device ordinal used by the Cuda backend (default 0)
  /// @throws DeviceError when `backend` is Cuda and the device is missing, or shoal was built
  ///         without CUDA; the message says which
  /// @throws InvalidArgument when `device` is negative
  explicit Context(Backend backend = Backend::Auto, int device = 0);
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// The backend asked for at construction.
  [[nodiscard]] Backend requested_backend() const;
  /// True when work may run on the CUDA device: it exists and the backend is not Cpu.
  [[nodiscard]] bool cuda_enabled() const;
  /// The backend a call doing about `flops` floating-point operations runs on: Cpu or Cuda.
  /// Auto picks Cuda when enabled and `flops ≥ auto_cuda_min_flops`.
  [[nodiscard]] Backend backend_for(double flops) const;
  /// Work below this many flops stays on the CPU under Auto (default 1e8).
  static constexpr double auto_cuda_min_flops = 1e8;

  /// CUDA device ordinal.
  [[nodiscard]] int device() const;

  /// CPU threads for OpenMP regions; 0 (default) means all that OpenMP offers.
  void set_threads(int threads);
  /// The resolved thread count (≥ 1).
  [[nodiscard]] int threads() const;

  /// Seed used by algorithms whose parameters leave `seed` unset (default 0).
  void set_seed(std::uint64_t seed);
  [[nodiscard]] std::uint64_t seed() const;

  /// Device memory, in bytes, that one call may use; 0 (default) means the free memory of the
  /// device when the call starts. Algorithms whose data do not fit stream it in batches.
  void set_memory_budget(std::size_t bytes);
  [[nodiscard]] std::size_t memory_budget() const;

  /// Replaces the progress callback; an empty function turns progress off (default).
  void set_progress_callback(ProgressCallback callback);
  /// Calls the progress callback, if any.
  void report_progress(std::string_view stage, double fraction) const;

  /// CUDA state for library code; created on first use.
  /// @throws DeviceError when CUDA is not enabled for this context
  [[nodiscard]] detail::CudaResources& cuda() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal
