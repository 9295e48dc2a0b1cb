// The exact spanning tree's Borůvka rounds on the CUDA device: uploads what the rounds read,
// runs them (kernels/hdbscan/boruvka.cuh), and brings the edges back.
#include <optional>
#include <vector>

#include "core/check.hpp"
#include "core/cuda_resources.cuh"
#include "hdbscan/mst.hpp"
#include "kernels/hdbscan/boruvka.hpp"

namespace shoal::hdbscan::detail {
namespace {

using shoal::detail::CudaResources;
using shoal::detail::DeviceScope;
using shoal::detail::Workspace;
using shoal::detail::WorkspaceCarver;

}  // namespace

std::optional<index_t> boruvka_cuda(const Context& ctx, const Reachability& reach, bool use_lists,
                                    const std::vector<index_t>& component, std::vector<Edge>& edges) {
  namespace device = kernels::hdbscan;
  const index_t n = reach.X.rows(), d = reach.X.cols(), k = use_lists ? reach.knn.k : 0;
  if (d > device::kMaxDims) return std::nullopt;
  std::int64_t components = 0;
  for (index_t p = 0; p < n; ++p) components += component[p] == p;
  if (components <= 1) return 0;  // joined already (all points exact duplicates)
  const index_t chunk = device::chunk_points(static_cast<int>(d)), chunks = (n + chunk - 1) / chunk;
  CudaResources& cuda = ctx.cuda();
  DeviceScope scope(cuda.device());
  const cudaStream_t stream = cuda.stream();

  const auto N = static_cast<std::size_t>(n), C = static_cast<std::size_t>(chunks);
  using W = Workspace;
  const std::size_t bytes =
      W::bytes_for<float>(N * d) + W::bytes_for<std::int32_t>(N * k) + W::bytes_for<double>(N * k) +
      2 * W::bytes_for<float>(C * d) + W::bytes_for<double>(C) + W::bytes_for<std::int32_t>(C) +
      5 * W::bytes_for<double>(N) + 4 * W::bytes_for<std::int32_t>(N) + 3 * W::bytes_for<Edge>(N) +
      2 * W::bytes_for<unsigned char>(N) + 2 * W::bytes_for<unsigned long long>(N) +
      W::bytes_for<int>(device::kCounters);
  // Where the rounds do not fit, the host's find the same tree.
  if (shoal::detail::usable_device_memory(ctx) < bytes) return std::nullopt;
  const ChunkedPoints points = chunked_points(ctx, reach, chunk);
  SHOAL_ASSERT(points.chunks() == chunks);
  WorkspaceCarver carve(cuda.workspace().reserve(bytes));
  // Takes room for `count` T and fills it from `host`.
  const auto put = [&]<class T>(const T* host, std::size_t count) {
    T* piece = carve.take<T>(count);
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(piece, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
    return piece;
  };
  device::Arrays a;
  a.n = n;
  a.d = static_cast<int>(d);
  a.k = static_cast<int>(k);
  a.alpha = reach.alpha;
  a.chunk = static_cast<int>(chunk);
  a.chunks = chunks;
  a.order = put(points.order.data(), N);
  a.X = put(points.X.data(), N * d);
  a.core_at = put(points.core.data(), N);
  a.core = put(reach.core.data(), N);
  a.indices = put(reach.knn.indices.data(), N * k);
  a.listed = put(reach.listed.data(), N * k);
  a.radius = put(reach.knn.radius.data(), N);
  a.low = put(points.low.data(), C * d);
  a.high = put(points.high.data(), C * d);
  a.least_core = put(points.least_core.data(), C);
  const std::vector<std::int32_t> roots(component.begin(), component.end());
  a.component = put(roots.data(), N);
  const std::vector<Edge> none(N);
  a.known = put(none.data(), N);
  a.component_at = carve.take<std::int32_t>(N);
  a.chunk_component = carve.take<std::int32_t>(C);
  a.next = carve.take<std::int32_t>(N);
  a.proposal = carve.take<Edge>(N);
  a.edges = carve.take<Edge>(N);
  a.floor = carve.take<double>(N);
  a.lower = carve.take<double>(N);
  a.searching = carve.take<unsigned char>(N);
  a.list_inside = carve.take<unsigned char>(N);
  a.best_weight = carve.take<unsigned long long>(N);
  a.best_pair = carve.take<unsigned long long>(N);
  a.counters = carve.take<int>(device::kCounters);
  SHOAL_CUDA_CHECK(cudaMemsetAsync(a.lower, 0, N * sizeof(double), stream));  // +0.0
  SHOAL_CUDA_CHECK(cudaMemsetAsync(a.list_inside, 0, N, stream));
  SHOAL_CUDA_CHECK(cudaMemsetAsync(a.counters, 0, device::kCounters * sizeof(int), stream));

  const device::RoundsOutcome outcome = device::boruvka_on_device(a, components, stream);
  const std::size_t given = edges.size();
  edges.resize(given + static_cast<std::size_t>(outcome.edges));
  SHOAL_CUDA_CHECK(cudaMemcpyAsync(edges.data() + given, a.edges, static_cast<std::size_t>(outcome.edges) * sizeof(Edge),
                                   cudaMemcpyDeviceToHost, stream));
  cuda.synchronize();
  return outcome.searches;
}

}  // namespace shoal::hdbscan::detail
