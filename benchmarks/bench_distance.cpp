// Distance tiles: GFLOP/s of the expanded-form squared distances (2·m·n·d flops).
#include <benchmark/benchmark.h>

#include "core/random.hpp"
#include "distance/distance.hpp"

namespace {

shoal::Matrix<float> random_matrix(std::uint64_t seed, shoal::index_t rows, shoal::index_t cols) {
  shoal::detail::Rng rng(seed);
  shoal::Matrix<float> m(rows, cols);
  for (shoal::index_t i = 0; i < rows * cols; ++i) m.data()[i] = static_cast<float>(rng.normal());
  return m;
}

void BM_PairwiseSqL2Cpu(benchmark::State& state) {
  const shoal::index_t m = state.range(0), n = state.range(1), d = state.range(2);
  const auto X = random_matrix(1, m, d), Y = random_matrix(2, n, d);
  const shoal::Context ctx(shoal::Backend::Cpu);
  for (auto _ : state) benchmark::DoNotOptimize(shoal::detail::pairwise_sq_l2_cpu(ctx, X, Y));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * d), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(BM_PairwiseSqL2Cpu)->Args({4096, 256, 64})->Args({4096, 1024, 128})->Unit(benchmark::kMillisecond);

}  // namespace
