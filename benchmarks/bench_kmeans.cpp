// k-means Lloyd iterations on the CPU: shoal against FAISS's faiss::Clustering, in the same
// process, on the same data and from the same initial centroids; and the machine's FP32 FMA
// peak for reference. On a GPU machine, shoal's CUDA engine too (TF32 and FP32 tiles).
//
//   build/release/benchmarks/shoal_bench --benchmark_filter='Lloyd|Peak'
//
// Data: shoal's Gaussian blobs (n, d, k as the benchmark arguments, blobs = k, std 4, seed 1).
// Initial centroids: k-means++ (shoal's, seed 0), computed once and shared. Both libraries run
// 10 Lloyd iterations (tol 0; FAISS with max_points_per_centroid raised to use every point;
// shoal stops sooner only when no label changes, reported as its "iterations" counter).
// GFLOP/s counts 2·n·k·d per iteration run, the work of a full assignment.
#include <cstdint>  // before FAISS's headers, which use uint8_t without including it

#include <benchmark/benchmark.h>
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <immintrin.h>
#include <omp.h>

#include <climits>
#include <cstdlib>
#include <map>
#include <tuple>

#include "core/random.hpp"
#include "core/simd.hpp"
#include "kmeans/low_precision.hpp"
#include "kmeans/init.hpp"
#include "shoal/datasets.hpp"
#include "shoal/kmeans.hpp"
#include "shoal/system.hpp"

namespace {

constexpr int kIterations = 10;

struct Problem {
  shoal::datasets::Blobs blobs;
  shoal::Matrix<float> initial;
};

const Problem& problem(shoal::index_t n, shoal::index_t d, shoal::index_t k) {
  static std::map<std::tuple<shoal::index_t, shoal::index_t, shoal::index_t>, Problem> cache;
  auto [it, inserted] = cache.try_emplace({n, d, k});
  if (inserted) {
    it->second.blobs = shoal::datasets::make_blobs({.n = n, .d = d, .centers = k, .std = 4.0, .seed = 1});
    it->second.initial = shoal::kmeans::detail::init_plus_plus(shoal::Context(shoal::Backend::Cpu),
                                                                it->second.blobs.X, {}, k, {.seed = 0, .run = 0});
  }
  return it->second;
}

void set_counters(benchmark::State& state, shoal::index_t n, shoal::index_t d, shoal::index_t k, int iterations) {
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(d) * iterations;
  state.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["s/iter"] = benchmark::Counter(iterations, benchmark::Counter::kIsIterationInvariantRate |
                                                                       benchmark::Counter::kInvert);
}

/// shoal's 10 iterations on `backend`, from the shared initial centroids (fewer if no label
/// changes: the rates count the iterations run). Arguments n, d, k.
void run_shoal_lloyd(benchmark::State& state, shoal::Backend backend) {
  const shoal::index_t n = state.range(0), d = state.range(1), k = state.range(2);
  const Problem& p = problem(n, d, k);
  shoal::kmeans::Params params;
  params.k = k;
  params.init = shoal::kmeans::Init::Given;
  params.initial_centroids = p.initial;
  params.max_iter = kIterations;
  params.tol = 0.0;
  const shoal::Context ctx(backend);
  double inertia = 0.0;
  int iterations = kIterations;
  for (auto _ : state) {
    const shoal::kmeans::Result result = shoal::kmeans::fit(ctx, p.blobs.X, params);
    inertia = result.inertia;
    iterations = result.n_iter;
  }
  state.counters["inertia"] = inertia;
  state.counters["iterations"] = iterations;
  set_counters(state, n, d, k, iterations);
}

void BM_ShoalLloydCpu(benchmark::State& state) { run_shoal_lloyd(state, shoal::Backend::Cpu); }

void BM_FaissLloydCpu(benchmark::State& state) {
  const shoal::index_t n = state.range(0), d = state.range(1), k = state.range(2);
  const Problem& p = problem(n, d, k);
  faiss::ClusteringParameters cp;
  cp.niter = kIterations;
  cp.max_points_per_centroid = INT_MAX;  // use every point
  cp.min_points_per_centroid = 1;
  cp.verbose = false;
  double objective = 0.0;
  for (auto _ : state) {
    faiss::Clustering clustering(static_cast<int>(d), static_cast<int>(k), cp);
    clustering.centroids.assign(p.initial.data(), p.initial.data() + k * d);
    faiss::IndexFlatL2 index(d);
    clustering.train(n, p.blobs.X.data(), index);
    objective = clustering.iteration_stats.back().obj;
  }
  state.counters["inertia"] = objective;  // FAISS reports the objective of the last assignment
  set_counters(state, n, d, k, kIterations);
}

#define SHOAL_LLOYD_SHAPES ->Args({500'000, 64, 256})->Args({100'000, 32, 64})->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(BM_ShoalLloydCpu) SHOAL_LLOYD_SHAPES;
BENCHMARK(BM_FaissLloydCpu) SHOAL_LLOYD_SHAPES;

/// The same 10 iterations on the GPU (skipped without a device), the tiles in TF32 (argument
/// tf32 = 1, the default) or FP32 (SHOAL_NO_TF32): the labels are the same, the time is not.
/// Includes each fit's upload of X. Arguments n, d, k, tf32.
void BM_ShoalLloydCuda(benchmark::State& state) {
  if (shoal::cuda_status().devices.empty()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  if (state.range(3) == 0) ::setenv("SHOAL_NO_TF32", "1", 1);
  run_shoal_lloyd(state, shoal::Backend::Cuda);
  ::unsetenv("SHOAL_NO_TF32");
}
BENCHMARK(BM_ShoalLloydCuda)
    ->Args({2'000'000, 128, 1024, 1})->Args({2'000'000, 128, 1024, 0})->Args({500'000, 64, 256, 1})
    ->Args({500'000, 64, 256, 0})->Unit(benchmark::kMillisecond)->UseRealTime();

/// Independent FP32 FMAs on every thread: the machine's FP32 FMA throughput (AVX-512 when the
/// CPU has it, else AVX2), as 2 flops per lane per FMA.
__attribute__((target("avx512f"))) double fma_loop_avx512(long iterations) {
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_set1_ps(1.0f);
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    for (auto& a : acc) a = _mm512_fmadd_ps(a, mul, add);
  }
  float lanes[16];
  __m512 sum = acc[0];
  for (int j = 1; j < 12; ++j) sum = _mm512_add_ps(sum, acc[j]);
  _mm512_storeu_ps(lanes, sum);
  return lanes[0];
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iterations) {
  __m256 acc[12];
  for (auto& a : acc) a = _mm256_set1_ps(1.0f);
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    for (auto& a : acc) a = _mm256_fmadd_ps(a, mul, add);
  }
  float lanes[8];
  __m256 sum = acc[0];
  for (int j = 1; j < 12; ++j) sum = _mm256_add_ps(sum, acc[j]);
  _mm256_storeu_ps(lanes, sum);
  return lanes[0];
}

void BM_Fp32FmaPeak(benchmark::State& state) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int lanes = avx512 ? 16 : 8;
  constexpr long kLoop = 20'000'000;
  const int threads = omp_get_max_threads();
  double sink = 0.0;
  for (auto _ : state) {
#pragma omp parallel reduction(+ : sink)
    sink += avx512 ? fma_loop_avx512(kLoop) : fma_loop_avx2(kLoop);
  }
  benchmark::DoNotOptimize(sink);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * lanes * 12.0 * kLoop * threads,
                                                 benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["threads"] = threads;
}
BENCHMARK(BM_Fp32FmaPeak)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The same for the BF16 dot product (2 multiply-adds per lane and instruction).
__attribute__((target("avx512f,avx512bf16"))) double bf16_dot_loop(long iterations) {
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_set1_ps(1.0f);
  const auto x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f803f80)), y = x;
  for (long i = 0; i < iterations; ++i) {
    for (auto& a : acc) a = _mm512_dpbf16_ps(a, x, y);
  }
  float lanes[16];
  __m512 sum = acc[0];
  for (int j = 1; j < 12; ++j) sum = _mm512_add_ps(sum, acc[j]);
  _mm512_storeu_ps(lanes, sum);
  return lanes[0];
}

void BM_Bf16DotPeak(benchmark::State& state) {
  if (!shoal::detail::kHasAvx512Bf16) {
    state.SkipWithError("this CPU has no AVX-512 BF16");
    return;
  }
  constexpr long kLoop = 20'000'000;
  const int threads = omp_get_max_threads();
  double sink = 0.0;
  for (auto _ : state) {
#pragma omp parallel reduction(+ : sink)
    sink += bf16_dot_loop(kLoop);
  }
  benchmark::DoNotOptimize(sink);
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * 16 * 12.0 * kLoop * threads,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["threads"] = threads;
}
BENCHMARK(BM_Bf16DotPeak)->Unit(benchmark::kMillisecond)->UseRealTime();

/// k-means' low-precision scoring kernels on one thread: a block of rows against all
/// centroids, the shape of one task of the assignment (rows, k, d as arguments), packing
/// included. GOP/s counts 2·rows·k·d.
void BM_LowPrecisionScores(benchmark::State& state, shoal::kmeans::detail::Precision precision) {
  using namespace shoal::kmeans::detail;
  const bool supported = precision == Precision::Bf16 ? shoal::detail::kHasAvx512Bf16 : shoal::detail::kHasAvx512Vnni;
  if (!supported) {
    state.SkipWithError("this CPU lacks the kernel's instructions");
    return;
  }
  const shoal::index_t rows = state.range(0), k = state.range(1), d = state.range(2);
  shoal::detail::Rng rng(1);
  shoal::Matrix<float> X(rows, d), C(k, d);
  for (float* v = X.data(); v != X.data() + rows * d; ++v) *v = static_cast<float>(rng.uniform());
  for (float* v = C.data(); v != C.data() + k * d; ++v) *v = static_cast<float>(rng.uniform());
  const std::vector<float> shift(d, 0.5f), add(k, 0.0f);
  const LowPrecisionCentroids centroids(precision, C, shift);
  LowPrecisionRows packed;
  const shoal::index_t padded = rows + kLowPrecisionHeight;
  std::vector<float> norms(rows), tile(padded * k), first(padded), second(padded);
  std::vector<std::int32_t> index(padded);
  std::vector<Int8Side> sides(padded);
  for (auto _ : state) {
    packed.pack(precision, X.data(), d, rows, d, shift.data(), norms.data(), sides.data());
    low_precision_scores(packed, centroids, add.data(), tile.data(), k, {first.data(), second.data(), index.data()});
    benchmark::DoNotOptimize(tile.data());
  }
  state.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * k * d),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}
BENCHMARK_CAPTURE(BM_LowPrecisionScores, bf16, shoal::kmeans::detail::Precision::Bf16)
    ->Args({264, 256, 64})->Args({264, 1024, 128})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_LowPrecisionScores, int8, shoal::kmeans::detail::Precision::Int8)
    ->Args({264, 256, 64})->Args({264, 1024, 128})->Unit(benchmark::kMicrosecond);

}  // namespace
