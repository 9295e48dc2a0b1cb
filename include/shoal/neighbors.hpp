#pragma once
/// @file
/// @brief k-nearest-neighbour graphs: every point's k nearest other points.

#include <cstdint>
#include <string_view>

#include "shoal/context.hpp"
#include "shoal/distance.hpp"
#include "shoal/matrix.hpp"

namespace shoal::neighbors {

/// How the neighbours are searched on the CPU (the CUDA backend always searches exactly, by
/// brute force on distance tiles).
enum class Index {
  Auto,    ///< KdTree up to 128 dimensions, Flat above
  KdTree,  ///< exact, shoal's kd-tree: float distances to search, double to rank
  Flat,    ///< exact, FAISS IndexFlatL2 (brute force on BLAS); distances recomputed in double
  Hnsw,    ///< approximate, FAISS IndexHNSWFlat
  Ivf,     ///< approximate, FAISS IndexIVFFlat
};

/// "auto", "kdtree", "flat", "hnsw" or "ivf".
[[nodiscard]] std::string_view to_string(Index index);
/// @throws InvalidArgument for another name
[[nodiscard]] Index parse_index(std::string_view name);

struct IndexParams {
  Index index = Index::Auto;
  int hnsw_m = 32;               ///< HNSW: links per node
  int hnsw_ef_construction = 40; ///< HNSW: candidate list while building
  int hnsw_ef_search = 64;       ///< HNSW: candidate list while searching (raised to k when smaller)
  int ivf_lists = 0;             ///< IVF: inverted lists; 0 means about 4·√n
  int ivf_probes = 16;           ///< IVF: lists searched per query
};

/// The k nearest neighbours of every point, the point itself excluded (duplicates of it are
/// neighbours at distance 0), nearest first; ties go to the lower index.
struct KnnGraph {
  Matrix<std::int32_t> indices;  ///< `[n × k]`
  Matrix<float> distances;       ///< `[n × k]` Euclidean distances (not squared)
  Index index = Index::Auto;     ///< the search that ran (Auto resolved)
  [[nodiscard]] index_t k() const { return indices.cols(); }
};

/// Builds the kNN graph of the rows of X.
/// @param[in] X      `[n × d]` finite data
/// @param[in] k      neighbours per point, 1 ≤ k ≤ n − 1
/// @param[in] metric L2, or cosine (Euclidean distance between rows scaled to unit length)
/// @throws InvalidArgument for a bad k, non-finite data, or zero rows under cosine
/// @code
/// const shoal::neighbors::KnnGraph graph = shoal::neighbors::knn_graph(ctx, X, 15);
/// @endcode
[[nodiscard]] KnnGraph knn_graph(const Context& ctx, MatrixView<const float> X, index_t k,
                                 Metric metric = Metric::L2, const IndexParams& params = {});

}  // namespace shoal::neighbors
