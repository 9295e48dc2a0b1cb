// The device Borůvka rounds on a CUDA stream.
#include <algorithm>

#include "core/cuda_resources.cuh"
#include "kernels/hdbscan/boruvka.cuh"
#include "kernels/hdbscan/boruvka.hpp"

namespace shoal::kernels::hdbscan {
namespace {

/// Launches boruvka_rounds' kernels on one stream; single values go through pinned memory.
class DeviceRunner {
 public:
  explicit DeviceRunner(cudaStream_t stream) : stream_(stream) {
    SHOAL_CUDA_CHECK(cudaMallocHost(&value_, sizeof(int)));
  }
  ~DeviceRunner() { cudaFreeHost(value_); }
  DeviceRunner(const DeviceRunner&) = delete;
  DeviceRunner& operator=(const DeviceRunner&) = delete;

  template <class... Params, class... Args>
  void each(void (*kernel)(Params...), std::int64_t items, const Args&... args) {
    constexpr unsigned kThreads = 256;
    const auto blocks = static_cast<unsigned>(std::clamp<std::int64_t>((items + kThreads - 1) / kThreads, 1, 8192));
    kernel<<<blocks, kThreads, 0, stream_>>>(args...);
    SHOAL_CUDA_CHECK(cudaGetLastError());
  }
  template <class... Params, class... Args>
  void grid(void (*kernel)(Params...), unsigned blocks, unsigned threads, const Args&... args) {
    kernel<<<blocks, threads, 0, stream_>>>(args...);
    SHOAL_CUDA_CHECK(cudaGetLastError());
  }
  int read(const int* device) {
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(value_, device, sizeof(int), cudaMemcpyDeviceToHost, stream_));
    SHOAL_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return *value_;
  }
  void clear(int* device) { SHOAL_CUDA_CHECK(cudaMemsetAsync(device, 0, sizeof(int), stream_)); }

 private:
  cudaStream_t stream_;
  int* value_ = nullptr;
};

}  // namespace

RoundsOutcome boruvka_on_device(const Arrays& a, std::int64_t components, cudaStream_t stream) {
  DeviceRunner run(stream);
  return boruvka_rounds(run, a, components);
}

}  // namespace shoal::kernels::hdbscan
