#pragma once
// Borůvka rounds of the exact mutual-reachability spanning tree on the GPU: the rounds of the
// host's exact_mst (src/hdbscan/mst.cpp), with searches over chunks of points in kd-tree order
// in place of its tree searches and piece sweeps. Each round, every point proposes its
// lightest listed edge out of its component, certified when the list vouches for it; the
// points that could still beat their component's best proposal search the chunks of other
// components that their reach touches, sharing the component's best weight as it falls; each
// component then hooks onto the far end of its lightest edge, ties going to the smaller
// (weight, min, max) as on the host, so the tree is the host's edge for edge. Weights are the
// host's to the bit: max(core(p), core(q), d/alpha) with d the square root of the same eight
// partial sums, added in the same tree, with no fused multiply-adds.
//
// The rounds are a template over how kernels run, so that a test can run these very kernels
// on the host (tests/support/cuda_on_host.hpp); boruvka.cu runs them on a stream.

#include <algorithm>
#include <cstdint>

#include "core/check.hpp"
#include "kernels/hdbscan/boruvka_arrays.hpp"

namespace shoal::kernels::hdbscan {

using shoal::hdbscan::detail::make_edge;

/// Non-negative doubles order as their bits do.
__device__ inline unsigned long long weight_bits(double weight) {
  return static_cast<unsigned long long>(__double_as_longlong(weight));
}
__device__ inline double bits_weight(unsigned long long bits) {
  return __longlong_as_double(static_cast<long long>(bits));
}

/// ‖x − y‖² as the host's exact_sq_distance forms it: element j into partial sum j mod 8, each
/// rounded on its own (no fused multiply-add), the partials added in a fixed tree. Element j
/// of x is x[j · x_stride].
__device__ inline double exact_sq_distance(const float* x, int x_stride, const float* y, int d) {
  double partial[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  for (int j = 0; j < d; j += 8) {
#pragma unroll
    for (int t = 0; t < 8; ++t) {
      if (j + t < d) {
        const double diff = __dsub_rn(static_cast<double>(x[(j + t) * x_stride]), static_cast<double>(y[j + t]));
        partial[t] = __dadd_rn(partial[t], __dmul_rn(diff, diff));
      }
    }
  }
  return __dadd_rn(__dadd_rn(__dadd_rn(partial[0], partial[1]), __dadd_rn(partial[2], partial[3])),
                   __dadd_rn(__dadd_rn(partial[4], partial[5]), __dadd_rn(partial[6], partial[7])));
}

/// A grid-stride loop's first item and stride.
__device__ inline std::int64_t first_item() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t item_stride() { return static_cast<std::int64_t>(blockDim.x) * gridDim.x; }

/// Every root starts the round with no edge out.
__global__ void reset_best_kernel(Arrays a) {
  for (std::int64_t p = first_item(); p < a.n; p += item_stride()) {
    if (a.component[p] != p) continue;
    a.best_weight[p] = kInfiniteWeight;
    a.best_pair[p] = kNoPair;
  }
}

/// Each point's proposal, as the host's rounds make it: its known edge while the far end is
/// still outside, else its lightest listed edge out, certified when it is lighter than any
/// unlisted point could be. Lowers its component's best weight.
__global__ void propose_kernel(Arrays a) {
  const double infinity = bits_weight(kInfiniteWeight);
  for (std::int64_t p = first_item(); p < a.n; p += item_stride()) {
    const std::int32_t own = a.component[p];
    Edge best = a.known[p];
    if (best.valid() && a.component[best.a] != a.component[best.b]) {
      a.floor[p] = infinity;
    } else {
      // The far end joined: that edge was the point's lightest out, and its edges out only
      // become fewer, so none weighs less.
      if (best.valid()) a.lower[p] = fmax(a.lower[p], best.weight);
      a.known[p] = Edge{};
      best = Edge{};
      if (a.list_inside[p] == 0) {
        for (int j = 0; j < a.k; ++j) {
          const std::int32_t q = a.indices[p * a.k + j];
          if (a.component[q] == own) continue;
          const Edge edge = make_edge(a.listed[p * a.k + j], p, q);
          if (edge < best) best = edge;
        }
        a.list_inside[p] = static_cast<unsigned char>(!best.valid());
      }
      const double radius = a.k > 0 ? a.radius[p] : 0.0;  // no lists, no certificates
      const double floor = fmax(fmax(a.core[p], radius / a.alpha), a.lower[p]);
      a.floor[p] = best.valid() && best.weight < floor ? infinity : floor;
    }
    a.proposal[p] = best;
    // A plain read first: in late rounds every point of a few components would contend.
    if (best.valid() && weight_bits(best.weight) < a.best_weight[own]) {
      atomicMin(&a.best_weight[own], weight_bits(best.weight));
    }
  }
}

/// Marks the points whose floor does not exceed their component's best proposal: they may
/// still find a lighter edge, and search.
__global__ void select_searchers_kernel(Arrays a) {
  for (std::int64_t p = first_item(); p < a.n; p += item_stride()) {
    const double floor = a.floor[p];
    const bool searching =
        floor != bits_weight(kInfiniteWeight) && weight_bits(floor) <= a.best_weight[a.component[p]];
    a.searching[p] = static_cast<unsigned char>(searching);
    if (searching) atomicAdd(&a.counters[kSearchers], 1);
  }
}

/// Each chunk's points' components by position, and the chunk's one component (−1 if several).
__global__ void refresh_chunks_kernel(Arrays a) {
  for (std::int64_t c = first_item(); c < a.chunks; c += item_stride()) {
    const std::int64_t first = c * a.chunk, last = min(a.n, first + a.chunk);
    std::int32_t common = a.component[a.order[first]];
    for (std::int64_t at = first; at < last; ++at) {
      const std::int32_t own = a.component[a.order[at]];
      a.component_at[at] = own;
      if (own != common) common = -1;
    }
    a.chunk_component[c] = common;
  }
}

/// Squared distance from x (element j at x[j · x_stride]) to a box, rounded down past the
/// rounding of exact_sq_distance.
__device__ inline double box_sq_distance(const float* x, int x_stride, const float* low, const float* high, int d) {
  double sum = 0.0;
  for (int j = 0; j < d; ++j) {
    const float xj = x[j * x_stride];
    const double below = static_cast<double>(low[j]) - xj, above = static_cast<double>(xj) - high[j];
    const double gap = fmax(0.0, fmax(below, above));
    sum += gap * gap;
  }
  return sum * (1.0 - 1e-9);
}

/// Block b: the searchers among positions [b·kSearchThreads, +kSearchThreads), a query per
/// thread, against the chunks, nearest in position first (near in space, on a kd-tree's
/// order). A chunk is staged in shared memory only if some query may find an edge in it: one
/// of other components, within the query's reach by its box, with a core distance low enough.
/// Each query keeps its lightest edge out, pruned by its component's best weight, which it
/// reads again and lowers after every chunk: only edges heavier than the component's lightest
/// are ever pruned. Then its proposal takes the edge if lighter, and what later rounds may
/// reuse is kept: bounds only fall, so every pruned edge weighed more than the last bound; an
/// edge no heavier is the point's exact lightest out (ties are never pruned), and otherwise its
/// lightest out weighs at least that bound.
__global__ void __launch_bounds__(kSearchThreads) search_kernel(Arrays a) {
  __shared__ float staged[kStageFloats];
  __shared__ double staged_core[kStageMax];
  __shared__ std::int32_t staged_component[kStageMax];
  __shared__ std::int32_t staged_point[kStageMax];
  // The queries, up to kSharedQueryDims coordinates, column by column: a warp reads one
  // coordinate of its 32 queries from 32 banks at once, where rows 4·d bytes apart in global
  // memory would cost a transaction per lane.
  __shared__ float queries[kSharedQueryDims * kSearchThreads];
  const int d = a.d;
  const std::int64_t at = static_cast<std::int64_t>(blockIdx.x) * kSearchThreads + threadIdx.x;
  const std::int32_t p = at < a.n ? a.order[at] : 0;
  const bool active = at < a.n && a.searching[p] != 0;
  if (__syncthreads_count(active) == 0) return;  // the whole block
  const std::int32_t own = a.component[p];
  const double core_p = a.core[p];
  const float* row = a.X + min(at, a.n - 1) * d;
  const bool shared_query = d <= kSharedQueryDims;
  if (shared_query) {
    for (int j = 0; j < d; ++j) queries[j * kSearchThreads + threadIdx.x] = row[j];  // its own column: no barrier
  }
  const float* x = shared_query ? queries + threadIdx.x : row;
  const int x_stride = shared_query ? kSearchThreads : 1;
  Edge mine;
  double bound = active ? bits_weight(__ldcg(&a.best_weight[own])) : -1.0;  // −1: prune everything
  const std::int64_t home = static_cast<std::int64_t>(blockIdx.x) * kSearchThreads / a.chunk;
  for (std::int64_t i = 0; i < 2 * a.chunks; ++i) {
    const std::int64_t c = i % 2 == 0 ? home - i / 2 : home + (i + 1) / 2;  // home, then outward
    if (c < 0 || c >= a.chunks) continue;  // alike in every thread
    // Squared distances past this cannot weigh ≤ bound (the factor covers the rounding).
    const double reach = bound * a.alpha, limit = reach * reach * (1.0 + 1e-12);
    const bool wanted = active && a.chunk_component[c] != own && fmax(core_p, a.least_core[c]) <= bound &&
                        box_sq_distance(x, x_stride, a.low + c * d, a.high + c * d, d) <= limit;
    if (__syncthreads_count(wanted) == 0) continue;
    const std::int64_t first = c * a.chunk;
    const int count = static_cast<int>(min(static_cast<std::int64_t>(a.chunk), a.n - first));
    for (int e = static_cast<int>(threadIdx.x); e < count * d; e += kSearchThreads) staged[e] = a.X[first * d + e];
    for (int j = static_cast<int>(threadIdx.x); j < count; j += kSearchThreads) {
      staged_core[j] = a.core_at[first + j];
      staged_component[j] = a.component_at[first + j];
      staged_point[j] = a.order[first + j];
    }
    __syncthreads();
    if (wanted) {
      for (int j = 0; j < count; ++j) {
        if (staged_component[j] == own) continue;
        const double core_pair = fmax(core_p, staged_core[j]);
        if (core_pair > bound) continue;
        const double sq = exact_sq_distance(x, x_stride, staged + j * d, d);
        if (sq > limit) continue;
        const Edge edge = make_edge(fmax(core_pair, sqrt(sq) / a.alpha), p, staged_point[j]);
        if (edge < mine) mine = edge;
      }
    }
    if (active) {
      if (mine.weight < bound) atomicMin(&a.best_weight[own], weight_bits(mine.weight));
      bound = fmin(bound, bits_weight(__ldcg(&a.best_weight[own])));
    }
    __syncthreads();  // every thread is done with the stage
  }
  if (!active) return;
  if (mine < a.proposal[p]) a.proposal[p] = mine;
  if (mine.valid() && mine.weight <= bound) {
    a.known[p] = mine;
  } else {
    a.lower[p] = fmax(a.lower[p], bound);
  }
}

/// Of the proposals at their component's best weight, the smallest (min, max) pair.
__global__ void best_pair_kernel(Arrays a) {
  for (std::int64_t p = first_item(); p < a.n; p += item_stride()) {
    const Edge edge = a.proposal[p];
    const std::int32_t own = a.component[p];
    if (!edge.valid() || weight_bits(edge.weight) != a.best_weight[own]) continue;
    atomicMin(&a.best_pair[own], (static_cast<unsigned long long>(edge.a) << 32) | static_cast<unsigned>(edge.b));
  }
}

/// Each root hooks onto the component at the far end of its lightest edge and records the
/// edge; two roots that chose the same edge (only they can close a cycle: the order is total)
/// keep the smaller as the root, and the edge once.
__global__ void hook_kernel(Arrays a) {
  for (std::int64_t c = first_item(); c < a.n; c += item_stride()) {
    if (a.component[c] != c) continue;
    const unsigned long long pair = a.best_pair[c];
    if (pair == kNoPair) {  // no edge out: cannot happen while components remain
      a.counters[kStuck] = 1;
      a.next[c] = static_cast<std::int32_t>(c);
      continue;
    }
    const auto u = static_cast<std::int32_t>(pair >> 32), v = static_cast<std::int32_t>(pair & 0xffffffffu);
    const std::int32_t other = a.component[u] == c ? a.component[v] : a.component[u];
    const bool mutual = a.best_pair[other] == pair && a.best_weight[other] == a.best_weight[c];
    a.next[c] = mutual && c < other ? static_cast<std::int32_t>(c) : other;
    if (!mutual || c < other) {
      a.edges[atomicAdd(&a.counters[kEdgesFound], 1)] = Edge{bits_weight(a.best_weight[c]), u, v};
    }
  }
}

/// One step of pointer jumping over the roots' hooks; kChanged is set while any moved.
__global__ void jump_kernel(Arrays a) {
  for (std::int64_t c = first_item(); c < a.n; c += item_stride()) {
    if (a.component[c] != c) continue;
    const std::int32_t up = a.next[c], top = a.next[up];
    if (top != up) {
      a.next[c] = top;
      a.counters[kChanged] = 1;
    }
  }
}

/// Every point takes its component's new root.
__global__ void relabel_kernel(Arrays a) {
  for (std::int64_t p = first_item(); p < a.n; p += item_stride()) a.component[p] = a.next[a.component[p]];
}

/// Borůvka rounds from the components in a.component (roots their own) until one remains.
/// `run` launches kernels: run.each(kernel, items, args...) over a grid-stride loop,
/// run.grid(kernel, blocks, threads, args...), and run.read(counter) and run.clear(counter).
/// The other arrays start as: known no edge, lower 0, list_inside 0, counters 0.
template <class Runner>
RoundsOutcome boruvka_rounds(Runner& run, const Arrays& a, std::int64_t components) {
  RoundsOutcome outcome;
  while (components > 1) {
    run.each(reset_best_kernel, a.n, a);
    run.each(refresh_chunks_kernel, a.chunks, a);
    run.each(propose_kernel, a.n, a);
    run.clear(a.counters + kSearchers);
    run.each(select_searchers_kernel, a.n, a);
    const int searchers = run.read(a.counters + kSearchers);
    if (searchers > 0) {
      run.grid(search_kernel, static_cast<unsigned>((a.n + kSearchThreads - 1) / kSearchThreads), kSearchThreads, a);
      outcome.searches += searchers;
    }
    run.each(best_pair_kernel, a.n, a);
    run.each(hook_kernel, a.n, a);
    SHOAL_ASSERT(run.read(a.counters + kStuck) == 0, "a component found no edge out");
    // Hooks form trees (only two components that chose the same edge point at each other, and
    // the larger defers): pointer jumping halves their depth each step. A cycle would not end.
    int jumps = 0;
    do {
      SHOAL_ASSERT(++jumps <= 64, "the components' hooks form a cycle");
      run.clear(a.counters + kChanged);
      run.each(jump_kernel, a.n, a);
    } while (run.read(a.counters + kChanged) != 0);
    run.each(relabel_kernel, a.n, a);
    const std::int64_t found = run.read(a.counters + kEdgesFound);
    SHOAL_ASSERT(found > outcome.edges, "a Borůvka round joined nothing");
    components -= found - outcome.edges;
    outcome.edges = found;
  }
  return outcome;
}

}  // namespace shoal::kernels::hdbscan
