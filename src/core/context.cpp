#include "shoal/context.hpp"

#include <omp.h>

#include <mutex>
#include <string>

#include "core/check.hpp"
#include "core/cuda_bridge.hpp"
#include "shoal/error.hpp"
#include "shoal/system.hpp"

namespace shoal {

std::string_view to_string(Backend backend) {
  switch (backend) {
    case Backend::Auto: return "auto";
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
  }
  return "unknown";
}

Backend parse_backend(std::string_view name) {
  if (name == "auto") return Backend::Auto;
  if (name == "cpu") return Backend::Cpu;
  if (name == "cuda") return Backend::Cuda;
  throw InvalidArgument(detail::concat("unknown backend '", name, "' (expected auto, cpu or cuda)"));
}

struct Context::Impl {
  Backend requested = Backend::Auto;
  int device = 0;
  bool cuda_enabled = false;
  int threads = 0;
  std::uint64_t seed = 0;
  std::size_t memory_budget = 0;
  ProgressCallback progress;
  mutable std::once_flag cuda_once;
  mutable detail::CudaResourcesPtr cuda;
};

Context::Context(Backend backend, int device) : impl_(std::make_unique<Impl>()) {
  SHOAL_EXPECTS(device >= 0, "device id ", device, " is negative");
  impl_->requested = backend;
  impl_->device = device;
  if (backend == Backend::Cpu) return;  // a CPU context never touches the CUDA runtime

  const CudaStatus& status = cuda_status();
  const bool present = device < static_cast<int>(status.devices.size());
  impl_->cuda_enabled = present;
  if (backend == Backend::Cuda && !present) {
    if (!status.compiled || status.devices.empty()) {
      throw DeviceError("the cuda backend was requested but " + status.message);
    }
    throw DeviceError(detail::concat("the cuda backend was requested on device ", device,
                                     " but only ", status.devices.size(), " device(s) exist"));
  }
}

Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

Backend Context::requested_backend() const { return impl_->requested; }
bool Context::cuda_enabled() const { return impl_->cuda_enabled; }

Backend Context::backend_for(double flops) const {
  if (!impl_->cuda_enabled) return Backend::Cpu;
  if (impl_->requested == Backend::Cuda) return Backend::Cuda;
  return flops >= auto_cuda_min_flops ? Backend::Cuda : Backend::Cpu;
}

int Context::device() const { return impl_->device; }

void Context::set_threads(int threads) {
  SHOAL_EXPECTS(threads >= 0, "thread count ", threads, " is negative");
  impl_->threads = threads;
}

int Context::threads() const { return impl_->threads > 0 ? impl_->threads : omp_get_max_threads(); }

void Context::set_seed(std::uint64_t seed) { impl_->seed = seed; }
std::uint64_t Context::seed() const { return impl_->seed; }

void Context::set_memory_budget(std::size_t bytes) { impl_->memory_budget = bytes; }
std::size_t Context::memory_budget() const { return impl_->memory_budget; }

void Context::set_progress_callback(ProgressCallback callback) {
  impl_->progress = std::move(callback);
}

void Context::report_progress(std::string_view stage, double fraction) const {
  if (impl_->progress) impl_->progress(stage, fraction);
}

detail::CudaResources& Context::cuda() const {
  if (!impl_->cuda_enabled) {
    throw DeviceError("this context has no CUDA device (backend " +
                      std::string(to_string(impl_->requested)) + ")");
  }
  std::call_once(impl_->cuda_once,
                 [this] { impl_->cuda = detail::make_cuda_resources(impl_->device); });
  return *impl_->cuda;
}

}  // namespace shoal
