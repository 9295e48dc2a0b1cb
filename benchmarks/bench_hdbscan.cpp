// The kd-tree's build, the kNN graph per search (shoal's kd-tree, FAISS flat and HNSW),
// HDBSCAN end to end with its stage times, and its stages after the kNN graph alone (the
// exact spanning tree; the single-linkage and condensed trees; the selection), on the CPU;
// on a GPU machine, the GPU's kNN graph and exact spanning tree too.
//
//   build/release/benchmarks/shoal_bench --benchmark_filter='KdTree|KnnGraph|Hdbscan|ExactMst|Hierarchy|Selection'
//
// Data: shoal's Gaussian blobs (n and d from the arguments, 20 blobs, std 1.5, seed 3), as
// benchmarks/compare/hdbscan_cpu.py uses; HDBSCAN with min_cluster_size 50, min_samples 10.
// The stage benchmarks take the data of its scaling series in 16-d: n / 12,500 blobs.
#include <benchmark/benchmark.h>

#include <map>
#include <tuple>
#include <utility>

#include "hdbscan/hierarchy.hpp"
#include "hdbscan/mst.hpp"
#include "neighbors/kdtree.hpp"
#include "neighbors/knn.hpp"
#include "shoal/datasets.hpp"
#include "shoal/hdbscan.hpp"
#include "shoal/neighbors.hpp"
#include "shoal/system.hpp"

namespace {

const shoal::Matrix<float>& blobs(shoal::index_t n, shoal::index_t d, shoal::index_t centers = 20) {
  static std::map<std::tuple<shoal::index_t, shoal::index_t, shoal::index_t>, shoal::Matrix<float>> cache;
  auto [it, inserted] = cache.try_emplace({n, d, centers});
  if (inserted) it->second = shoal::datasets::make_blobs({.n = n, .d = d, .centers = centers, .std = 1.5, .seed = 3}).X;
  return it->second;
}

/// The scaling series' points (n / 12,500 blobs in 16-d), their kNN lists and core distances
/// (min_samples 10), found once per n.
struct Graph {
  const shoal::Matrix<float>* X = nullptr;
  shoal::neighbors::detail::Neighbors knn;
  std::vector<double> core;
};
const Graph& scaling_graph(shoal::index_t n) {
  static std::map<shoal::index_t, Graph> cache;
  auto [it, inserted] = cache.try_emplace(n);
  if (inserted) {
    constexpr shoal::index_t kMinSamples = 10;
    Graph& graph = it->second;
    graph.X = &blobs(n, 16, n / 12'500);
    graph.knn = shoal::neighbors::detail::search(shoal::Context(shoal::Backend::Cpu), *graph.X, kMinSamples, {});
    graph.core = shoal::hdbscan::detail::core_distances(graph.knn, kMinSamples);
  }
  return it->second;
}

/// Arguments n, d, threads.
void BM_KdTreeBuild(benchmark::State& state) {
  const shoal::Matrix<float>& X = blobs(state.range(0), state.range(1));
  for (auto _ : state) {
    const shoal::neighbors::detail::KdTree tree(X, static_cast<int>(state.range(2)));
    benchmark::DoNotOptimize(tree.nodes().data());
  }
}
BENCHMARK(BM_KdTreeBuild)->Args({2'000'000, 16, 1})->Args({2'000'000, 16, 2})->Unit(benchmark::kMillisecond);

void BM_KnnGraph(benchmark::State& state, shoal::neighbors::Index index) {
  const shoal::Matrix<float>& X = blobs(state.range(0), state.range(1));
  const shoal::Context ctx(shoal::Backend::Cpu);
  for (auto _ : state) {
    const shoal::neighbors::KnnGraph graph =
        shoal::neighbors::knn_graph(ctx, X, 10, shoal::Metric::L2, {.index = index});
    benchmark::DoNotOptimize(graph.indices.data());
  }
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(X.rows()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_KnnGraph, kdtree, shoal::neighbors::Index::KdTree)
    ->Args({200'000, 10})->Args({200'000, 16})->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_KnnGraph, flat, shoal::neighbors::Index::Flat)->Args({50'000, 16})->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_KnnGraph, hnsw, shoal::neighbors::Index::Hnsw)->Args({200'000, 16})->Unit(benchmark::kSecond);

/// The exact kNN graph on the GPU (the fused kernel up to 64 dimensions, distance tiles above),
/// skipped without a device. Arguments n, d.
void BM_KnnGraphCuda(benchmark::State& state) {
  if (shoal::cuda_status().devices.empty()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const shoal::Matrix<float>& X = blobs(state.range(0), state.range(1));
  const shoal::Context ctx(shoal::Backend::Cuda);
  for (auto _ : state) {
    const shoal::neighbors::KnnGraph graph = shoal::neighbors::knn_graph(ctx, X, 10, shoal::Metric::L2, {});
    benchmark::DoNotOptimize(graph.indices.data());
  }
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(X.rows()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_KnnGraphCuda)->Args({1'000'000, 16})->Args({1'000'000, 64})->Args({200'000, 128})
    ->Unit(benchmark::kSecond)->UseRealTime();

void BM_Hdbscan(benchmark::State& state) {
  const shoal::Matrix<float>& X = blobs(state.range(0), state.range(1));
  const shoal::Context ctx(shoal::Backend::Cpu);
  shoal::hdbscan::Params params;
  params.min_cluster_size = 50;
  params.min_samples = 10;
  double knn = 0.0, mst = 0.0, tree = 0.0;  // stage seconds summed over the runs
  for (auto _ : state) {
    const shoal::hdbscan::Result result = shoal::hdbscan::fit(ctx, X, params);
    knn += result.seconds.knn;
    mst += result.seconds.mst;
    tree += result.seconds.condense + result.seconds.select;
    state.counters["clusters"] = static_cast<double>(result.clusters);
  }
  const auto per_run = [&](double seconds) { return seconds / static_cast<double>(state.iterations()); };
  state.counters["knn_s"] = per_run(knn);
  state.counters["mst_s"] = per_run(mst);
  state.counters["tree_s"] = per_run(tree);
}
BENCHMARK(BM_Hdbscan)->Args({200'000, 10})->Args({100'000, 16})->Unit(benchmark::kSecond);

/// The exact spanning tree of mutual reachability, from the lists' weights on. Argument n.
void BM_ExactMst(benchmark::State& state) {
  const Graph& graph = scaling_graph(state.range(0));
  const shoal::Context ctx(shoal::Backend::Cpu);
  for (auto _ : state) {
    const shoal::hdbscan::detail::Reachability reach(ctx, *graph.X, graph.knn, graph.knn.distances, graph.core, 1.0);
    const shoal::hdbscan::detail::MstOutcome mst = shoal::hdbscan::detail::exact_mst(ctx, reach);
    benchmark::DoNotOptimize(mst.tree.weight.data());
  }
}
BENCHMARK(BM_ExactMst)->Arg(250'000)->Arg(2'000'000)->Unit(benchmark::kMillisecond);

/// The same on the GPU, skipped without a device: the lists marked as the device's, and without
/// the kNN search's kd-tree, as in a GPU fit (the host builds one to order the points). Counters:
/// the rounds' searches. Argument n.
void BM_ExactMstCuda(benchmark::State& state) {
  if (shoal::cuda_status().devices.empty()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const Graph& graph = scaling_graph(state.range(0));
  shoal::neighbors::detail::Neighbors knn = graph.knn;
  knn.backend = shoal::Backend::Cuda;
  knn.kdtree = nullptr;
  const shoal::Context ctx(shoal::Backend::Cuda);
  for (auto _ : state) {
    const shoal::hdbscan::detail::Reachability reach(ctx, *graph.X, knn, knn.distances, graph.core, 1.0);
    const shoal::hdbscan::detail::MstOutcome mst = shoal::hdbscan::detail::exact_mst(ctx, reach);
    state.counters["searches"] = static_cast<double>(mst.exact_searches);
    benchmark::DoNotOptimize(mst.tree.weight.data());
  }
}
BENCHMARK(BM_ExactMstCuda)->Arg(1'000'000)->Arg(2'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The exact spanning tree of the scaling series' graph at n points.
shoal::hdbscan::SpanningTree scaling_tree(shoal::index_t n) {
  const Graph& graph = scaling_graph(n);
  const shoal::Context ctx(shoal::Backend::Cpu);
  const shoal::hdbscan::detail::Reachability reach(ctx, *graph.X, graph.knn, graph.knn.distances, graph.core, 1.0);
  return shoal::hdbscan::detail::exact_mst(ctx, reach).tree;
}

/// The single-linkage and condensed trees (min_cluster_size 50) of that spanning tree. Argument n.
void BM_Hierarchy(benchmark::State& state) {
  const shoal::hdbscan::SpanningTree tree = scaling_tree(state.range(0));
  for (auto _ : state) {
    const auto condensed = shoal::hdbscan::detail::condense(
        shoal::hdbscan::detail::single_linkage(tree, state.range(0)), 50);
    benchmark::DoNotOptimize(condensed.parent.data());
  }
}
BENCHMARK(BM_Hierarchy)->Arg(250'000)->Arg(2'000'000)->Unit(benchmark::kMillisecond);

/// EOM selection and the flat outputs (labels, probabilities, GLOSH) of that condensed tree.
/// Argument n.
void BM_Selection(benchmark::State& state) {
  const shoal::hdbscan::CondensedTree condensed = shoal::hdbscan::detail::condense(
      shoal::hdbscan::detail::single_linkage(scaling_tree(state.range(0)), state.range(0)), 50);
  const shoal::hdbscan::Params params{.min_cluster_size = 50, .min_samples = 10};
  for (auto _ : state) {
    const auto flat = shoal::hdbscan::detail::select_clusters(condensed, state.range(0), params);
    benchmark::DoNotOptimize(flat.labels.data());
  }
}
BENCHMARK(BM_Selection)->Arg(250'000)->Arg(2'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
