#pragma once
// CUDA state of a Context and the helpers every CUDA source uses: the checking macros, typed
// device buffers, and the workspace that scratch memory comes from.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <utility>

#include "core/cuda_bridge.hpp"
#include "shoal/context.hpp"
#include "shoal/system.hpp"

namespace shoal::detail {

/// Throws OutOfMemory for cudaErrorMemoryAllocation and DeviceError for any other failure,
/// naming the call, file and line.
void cuda_check(cudaError_t status, const char* call, const char* file, int line);
void cublas_check(cublasStatus_t status, const char* call, const char* file, int line);

#define SHOAL_CUDA_CHECK(call) ::shoal::detail::cuda_check((call), #call, __FILE__, __LINE__)
#define SHOAL_CUBLAS_CHECK(call) ::shoal::detail::cublas_check((call), #call, __FILE__, __LINE__)

/// Stream-ordered device memory for `count` elements of T, freed on the same stream.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(std::size_t count, cudaStream_t stream) : count_(count), stream_(stream) {
    if (count > 0) {
      void* ptr = nullptr;
      SHOAL_CUDA_CHECK(cudaMallocAsync(&ptr, count * sizeof(T), stream));
      data_ = static_cast<T*>(ptr);
    }
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
      stream_ = other.stream_;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  [[nodiscard]] T* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return count_; }

 private:
  void reset() noexcept {
    if (data_ != nullptr) cudaFreeAsync(data_, stream_);  // a failure here surfaces on the next checked call
    data_ = nullptr;
    count_ = 0;
  }
  T* data_ = nullptr;
  std::size_t count_ = 0;
  cudaStream_t stream_ = nullptr;
};

/// Scratch memory of a context: one device block that grows on request and is handed out in
/// aligned pieces. Callers size their whole need first (as CUB's two-phase calls do), reserve
/// it once before their loops, then carve it; nothing is allocated inside an iteration.
class Workspace {
 public:
  explicit Workspace(cudaStream_t stream) : stream_(stream) {}

  /// Makes at least `bytes` available, reallocating (and invalidating earlier pieces) only
  /// when the block is smaller. Returns the block.
  void* reserve(std::size_t bytes);
  [[nodiscard]] std::size_t capacity() const { return block_.size(); }

  /// Bytes a piece of `count` T takes, padded to the workspace alignment.
  template <class T>
  static constexpr std::size_t bytes_for(std::size_t count) {
    return (count * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
  }
  static constexpr std::size_t kAlignment = 256;

 private:
  cudaStream_t stream_;
  DeviceBuffer<std::byte> block_;
};

/// Hands out consecutive aligned pieces of a reserved workspace block.
class WorkspaceCarver {
 public:
  explicit WorkspaceCarver(void* block) : next_(static_cast<std::byte*>(block)) {}
  template <class T>
  T* take(std::size_t count) {
    T* piece = reinterpret_cast<T*>(next_);
    next_ += Workspace::bytes_for<T>(count);
    return piece;
  }

 private:
  std::byte* next_;
};

class CudaResources {
 public:
  explicit CudaResources(int device);
  ~CudaResources();
  CudaResources(const CudaResources&) = delete;
  CudaResources& operator=(const CudaResources&) = delete;

  [[nodiscard]] int device() const { return device_; }
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  [[nodiscard]] cublasHandle_t cublas() const { return cublas_; }
  [[nodiscard]] Workspace& workspace() { return *workspace_; }
  /// Waits for all work queued on the stream.
  void synchronize() const;
  /// Bytes of device memory currently free.
  [[nodiscard]] std::size_t free_memory() const;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::unique_ptr<Workspace> workspace_;
};

/// Device memory one call may use now: the context's budget, capped by what is free.
[[nodiscard]] std::size_t usable_device_memory(const Context& ctx);

/// Makes `device` current for the scope and restores the previous device after.
class DeviceScope {
 public:
  explicit DeviceScope(int device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

/// Blocks of 256 threads covering `count` items.
inline unsigned grid_for(std::size_t count, unsigned block = 256) {
  return static_cast<unsigned>((count + block - 1) / block);
}

}  // namespace shoal::detail
