#pragma once
// Enough of CUDA's device side to run a kernel's own source on the host, one block at a time:
// the block's threads as std::threads, __syncthreads as a barrier of the block, and each warp's
// shuffles through a barrier of its 32 lanes (lanes run in lockstep only where they meet).
// Include it, then the kernel's .cuh, and run blocks with run_block_on_host (one at a time:
// __shared__ arrays become statics). It checks a kernel's indexing and logic; how nvcc compiles
// it and the device's memory model only a GPU can check.

#include <math.h>  // the device's math functions are global: sqrt, fmax, fmin

#include <array>
#include <atomic>
#include <barrier>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __launch_bounds__(threads)
#define __shared__ static

struct float4 {
  float x, y, z, w;
};
struct Dim3 {
  unsigned x = 0;
};
inline thread_local Dim3 threadIdx;
inline Dim3 blockIdx, blockDim, gridDim;

/// The running block: a barrier per warp for shuffles, one for the whole block, and the sum
/// that __syncthreads_count forms.
struct HostBlock {
  static constexpr unsigned kLanes = 32;
  struct Warp {
    std::barrier<> lanes{kLanes};
    std::array<std::uint64_t, kLanes> slots{};
  };
  explicit HostBlock(unsigned threads) : all(threads) {
    for (unsigned w = 0; w < (threads + kLanes - 1) / kLanes; ++w) warps.push_back(std::make_unique<Warp>());
  }
  std::vector<std::unique_ptr<Warp>> warps;
  std::barrier<> all;
  std::atomic<int> count{0};
};
inline HostBlock* host_block = nullptr;

template <class T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= sizeof(std::uint64_t));
  HostBlock::Warp& warp = *host_block->warps[threadIdx.x / HostBlock::kLanes];
  const unsigned lane = threadIdx.x % HostBlock::kLanes;
  std::memcpy(&warp.slots[lane], &value, sizeof(T));
  warp.lanes.arrive_and_wait();
  T other;
  std::memcpy(&other, &warp.slots[lane ^ static_cast<unsigned>(offset)], sizeof(T));
  warp.lanes.arrive_and_wait();
  return other;
}

inline void __syncwarp() { host_block->warps[threadIdx.x / HostBlock::kLanes]->lanes.arrive_and_wait(); }

inline void __syncthreads() { host_block->all.arrive_and_wait(); }

inline int __syncthreads_count(int predicate) {
  host_block->count += predicate != 0 ? 1 : 0;
  host_block->all.arrive_and_wait();
  const int total = host_block->count.load();
  host_block->all.arrive_and_wait();
  if (threadIdx.x == 0) host_block->count = 0;
  host_block->all.arrive_and_wait();
  return total;
}

template <class T>
T __ldcs(const T* address) {
  return *address;
}

/// A load that sees other threads' atomics (the device's reads through L2).
template <class T>
T __ldcg(const T* address) {
  return std::atomic_ref<T>(*const_cast<T*>(address)).load();
}

template <class T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

inline unsigned long long atomicMin(unsigned long long* address, unsigned long long value) {
  std::atomic_ref<unsigned long long> target(*address);
  unsigned long long old = target.load();
  while (value < old && !target.compare_exchange_weak(old, value)) {
  }
  return old;
}

inline long long __double_as_longlong(double x) { return std::bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return std::bit_cast<double>(x); }

// Double arithmetic rounded once per operation, as the intrinsics promise (the tests that
// include this build with -ffp-contract=off, so no multiply-add is fused).
inline double __dadd_rn(double x, double y) { return x + y; }
inline double __dsub_rn(double x, double y) { return x - y; }
inline double __dmul_rn(double x, double y) { return x * y; }

template <class T>
T min(T a, T b) {
  return b < a ? b : a;
}

/// Runs kernel() as block blockIdx.x of `threads` threads (blockDim.x = threads).
template <class Kernel>
void run_block_on_host(unsigned threads, Kernel&& kernel) {
  HostBlock block(threads);
  host_block = &block;
  blockDim.x = threads;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&kernel, t] {
      threadIdx.x = t;
      kernel();
    });
  }
  for (std::thread& thread : pool) thread.join();
  host_block = nullptr;
}
