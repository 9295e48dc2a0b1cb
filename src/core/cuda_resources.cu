#include <algorithm>
#include <cstdio>
#include <mutex>

#include "core/check.hpp"
#include "core/cuda_resources.cuh"

namespace shoal {

namespace {

CudaStatus query_cuda_status() {
  CudaStatus status;
  status.compiled = true;
  cudaRuntimeGetVersion(&status.runtime_version);
  // Without a driver this reports 0 rather than failing, which is what we want to show.
  cudaDriverGetVersion(&status.driver_version);
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    status.message = std::string("no CUDA device: ") + cudaGetErrorString(error);
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return status;
  }
  if (count == 0) {
    status.message = "no CUDA device";
    return status;
  }
  for (int id = 0; id < count; ++id) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, id) != cudaSuccess) continue;
    DeviceProperties device;
    device.id = id;
    device.name = prop.name;
    device.compute_major = prop.major;
    device.compute_minor = prop.minor;
    device.multiprocessors = prop.multiProcessorCount;
    device.total_memory = prop.totalGlobalMem;
    std::size_t free_bytes = 0, total_bytes = 0;
    int previous = 0;
    cudaGetDevice(&previous);
    if (cudaSetDevice(id) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      device.free_memory = free_bytes;
    }
    cudaSetDevice(previous);
    status.devices.push_back(std::move(device));
  }
  return status;
}

}  // namespace

const CudaStatus& cuda_status() {
  static const CudaStatus status = query_cuda_status();
  return status;
}

namespace detail {

void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  cudaGetLastError();
  const std::string message = concat(call, " failed: ", cudaGetErrorString(status), " (", file,
                                     ":", line, ")");
  if (status == cudaErrorMemoryAllocation) throw OutOfMemory("out of device memory: " + message);
  throw DeviceError(message);
}

void cublas_check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const std::string message = concat(call, " failed: ", cublasGetStatusString(status), " (",
                                     file, ":", line, ")");
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemory("out of device memory: " + message);
  throw DeviceError(message);
}

void* Workspace::reserve(std::size_t bytes) {
  if (bytes > block_.size()) {
    block_ = DeviceBuffer<std::byte>();  // free first, so the old and new block never coexist
    block_ = DeviceBuffer<std::byte>(bytes, stream_);
  }
  return block_.data();
}

DeviceScope::DeviceScope(int device) {
  SHOAL_CUDA_CHECK(cudaGetDevice(&previous_));
  SHOAL_CUDA_CHECK(cudaSetDevice(device));
}

DeviceScope::~DeviceScope() { cudaSetDevice(previous_); }

CudaResources::CudaResources(int device) : device_(device) {
  DeviceScope scope(device);
  SHOAL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    SHOAL_CUBLAS_CHECK(cublasCreate(&cublas_));
    SHOAL_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    // Keep FP32 GEMMs in full FP32: no TF32 unless an algorithm asks for it explicitly.
    SHOAL_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  } catch (...) {
    if (cublas_ != nullptr) cublasDestroy(cublas_);
    cudaStreamDestroy(stream_);
    throw;
  }
  workspace_ = std::make_unique<Workspace>(stream_);
}

CudaResources::~CudaResources() {
  DeviceScope scope(device_);
  workspace_.reset();
  cudaStreamSynchronize(stream_);
  cublasDestroy(cublas_);
  cudaStreamDestroy(stream_);
}

void CudaResources::synchronize() const { SHOAL_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

std::size_t CudaResources::free_memory() const {
  DeviceScope scope(device_);
  std::size_t free_bytes = 0, total_bytes = 0;
  SHOAL_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

std::size_t usable_device_memory(const Context& ctx) {
  const std::size_t free_bytes = ctx.cuda().free_memory();
  // Leave a margin for cuBLAS and the driver's own allocations.
  const std::size_t available = free_bytes - std::min<std::size_t>(free_bytes, std::size_t{256} << 20);
  return ctx.memory_budget() == 0 ? available : std::min(ctx.memory_budget(), available);
}

void CudaResourcesDeleter::operator()(CudaResources* resources) const noexcept { delete resources; }

CudaResourcesPtr make_cuda_resources(int device) {
  return CudaResourcesPtr(new CudaResources(device));
}

}  // namespace detail
}  // namespace shoal
