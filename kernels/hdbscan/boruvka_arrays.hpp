#pragma once
// What the device Borůvka rounds (boruvka.cuh) work on, for the code that sets them up: plain
// C++, no CUDA types.

#include <algorithm>
#include <cstdint>

#include "hdbscan/edge.hpp"

namespace shoal::kernels::hdbscan {

using shoal::hdbscan::detail::Edge;

inline constexpr unsigned long long kInfiniteWeight = 0x7ff0000000000000ull;  // the bits of +∞
inline constexpr unsigned long long kNoPair = ~0ull;
inline constexpr int kSearchThreads = 128;  // queries per search block, one per thread
inline constexpr int kStageFloats = 4096;   // coordinates staged in shared memory at once
inline constexpr int kStageMax = 256;       // points staged at once
inline constexpr int kSharedQueryDims = 32;  // queries of up to this many dimensions sit in shared memory
/// The most dimensions the device rounds take: a point's coordinates must fit the stage.
inline constexpr int kMaxDims = kStageFloats;

/// Points per chunk: the searches stage one chunk of the points at a time, and skip a chunk
/// whose bounding box lies beyond a query's reach.
inline int chunk_points(int d) { return std::min(kStageMax, kStageFloats / d); }

/// Counters the rounds keep on the device.
enum Counter { kEdgesFound = 0, kSearchers = 1, kChanged = 2, kStuck = 3, kCounters = 4 };

/// The device arrays of the rounds: n points, k listed neighbours each (k = 0: the lists take
/// no part, as in the approximate mode's joins, and every point searches). Points have an index
/// (their row) and a position (in an order that keeps near points together, a kd-tree's), and
/// the positions are cut into chunks of `chunk` consecutive ones.
struct Arrays {
  std::int64_t n = 0;
  int d = 0;
  int k = 0;
  double alpha = 1.0;
  int chunk = 0;
  std::int64_t chunks = 0;
  // Fixed: by position, by point, or by chunk.
  const std::int32_t* order = nullptr;    ///< [n] the point at each position
  const float* X = nullptr;               ///< [n × d] coordinates, by position
  const double* core_at = nullptr;        ///< [n] core distances, by position
  const double* core = nullptr;           ///< [n] core distances, by point
  const std::int32_t* indices = nullptr;  ///< [n × k] listed neighbours, by point
  const double* listed = nullptr;         ///< [n × k] their mutual reachability
  const double* radius = nullptr;         ///< [n] certified list radius, by point
  const float* low = nullptr;             ///< [chunks × d] each chunk's bounding box
  const float* high = nullptr;
  const double* least_core = nullptr;     ///< [chunks] each chunk's least core distance
  // Each round's state, by point unless said.
  std::int32_t* component = nullptr;      ///< [n] each point's root (a root is its own)
  std::int32_t* component_at = nullptr;   ///< [n] the same, by position
  std::int32_t* chunk_component = nullptr;  ///< [chunks] the one component of a chunk's points, or −1
  std::int32_t* next = nullptr;           ///< [n] by root: where it hooks
  Edge* proposal = nullptr;            ///< [n] each point's best edge out this round
  double* floor = nullptr;                ///< [n] what an edge out must weigh at least, +∞ if certified
  unsigned char* searching = nullptr;     ///< [n] the point searches this round
  Edge* known = nullptr;               ///< [n] an exact lightest edge out, while its far end is outside
  double* lower = nullptr;                ///< [n] a lower bound on a point's lightest edge out
  unsigned char* list_inside = nullptr;   ///< [n] the list lies wholly in the point's component
  unsigned long long* best_weight = nullptr;  ///< [n] by root: its lightest edge out's weight, as bits
  unsigned long long* best_pair = nullptr;    ///< [n] by root: (a << 32) | b of that edge
  Edge* edges = nullptr;               ///< [n − 1] the tree's edges as found
  int* counters = nullptr;                ///< [kCounters]
};

/// What the rounds did.
struct RoundsOutcome {
  std::int64_t edges = 0;     ///< edges found (in a.edges)
  std::int64_t searches = 0;  ///< searcher-rounds
};

}  // namespace shoal::kernels::hdbscan
