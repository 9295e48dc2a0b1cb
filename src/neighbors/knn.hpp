#pragma once
// The kNN searches behind shoal/neighbors.hpp, with what the HDBSCAN spanning tree needs on
// top of the public graph: exact distances in double, and for every point a certified radius
// inside which every neighbour is listed.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "shoal/neighbors.hpp"

namespace shoal::neighbors::detail {

class KdTree;

struct Neighbors {
  index_t n = 0;
  index_t k = 0;
  std::vector<std::int32_t> indices;  ///< [n × k], nearest first, ties to the lower index
  std::vector<double> distances;      ///< [n × k] exact Euclidean distances, in double
  /// [n] every point not listed for i is at least radius[i] from it (0 when the search cannot
  /// vouch for that, as with HNSW and IVF).
  std::vector<double> radius;
  Index index = Index::Auto;
  Backend backend = Backend::Cpu;
  /// The kd-tree over the same rows, when the search built one: the spanning tree searches it
  /// too rather than build its own.
  std::shared_ptr<const KdTree> kdtree;
};

/// The k nearest neighbours of every row of X (already unit rows for cosine), the row itself
/// excluded, on the backend `ctx` picks.
[[nodiscard]] Neighbors search(const Context& ctx, MatrixView<const float> X, index_t k, const IndexParams& params);

/// The searches behind `search`. Rows marked in `settled` (see find_duplicates) may be left
/// unfinished: `search` writes them.
[[nodiscard]] Neighbors search_kdtree(const Context& ctx, MatrixView<const float> X, index_t k,
                                      std::span<const char> settled);
[[nodiscard]] Neighbors search_faiss(const Context& ctx, MatrixView<const float> X, index_t k,
                                     const IndexParams& params, Index index, std::span<const char> settled);
/// Defined only in CUDA builds.
[[nodiscard]] Neighbors search_cuda(const Context& ctx, MatrixView<const float> X, index_t k,
                                    std::span<const char> settled);

/// Rows with at least k exact duplicates (equal in every coordinate) have as neighbours their
/// k lowest-index duplicates, at distance 0 — lists no search can certify cheaply, since every
/// other duplicate ties.
struct Duplicates {
  std::vector<char> settled;       ///< [n] 1 for such rows
  std::vector<index_t> runs;       ///< their indices, one run of equal rows after another, each in index order
  std::vector<index_t> run_starts; ///< where each run begins in `runs`, then runs.size()
  /// Writes the lists of the settled rows into `out`.
  void write_lists(index_t k, Neighbors& out) const;
};
[[nodiscard]] Duplicates find_duplicates(MatrixView<const float> X, index_t k, int threads);

/// Turns candidates of point `self` (any order, self possibly among them) into its list: exact
/// distances, sorted by (distance, index), self dropped, the first k kept. Writes k entries and
/// returns the distance of the first candidate left out (∞ if none).
double finish_row(MatrixView<const float> X, index_t self, std::vector<std::int32_t>& candidates, index_t k,
                  std::int32_t* indices, double* distances);

/// finish_row's last step: `ranked` holds (exact squared distance, index) of distinct
/// candidates other than the point itself; it is reordered.
double finish_ranked(std::vector<std::pair<double, std::int32_t>>& ranked, index_t k, std::int32_t* indices,
                     double* distances);

/// Finishes rows [first, first + rows) of `out` from a float-ranked search: row r's `count`
/// candidates (−1 for none) and the float squared distance of its last one. With `norms`
/// (‖x‖² of every row of the data the search ranked, from sq_norms) the search was exact: the
/// radius is certified by float_ranked_radius, and a row whose k-th distance the radius does
/// not clear is ranked again over all points; without, the radius is 0. Settled rows are
/// skipped. OpenMP over rows.
void finish_float_ranked(const Context& ctx, MatrixView<const float> X, index_t first, index_t rows, index_t count,
                         const std::int32_t* candidates, const float* last_sq, std::span<const double> norms,
                         std::span<const char> settled, Neighbors& out);

/// The certified radius of a search that ranked points by float distances (the expanded form,
/// off from the exact squared distance by at most (d + 4)·2⁻²³·(‖x‖² + ‖y‖²)) of the centred
/// data: points it did not return are at least its last float distance less that error and
/// the centring's rounding; candidates it returned but left unlisted are at least `next`.
[[nodiscard]] double float_ranked_radius(double next, double last_float_sq, double x_norm, double largest_norm,
                                         index_t d);

/// X less its column means (rounded to float), for float-ranked searches (FAISS, the GPU's
/// tiles): they rank by ‖x‖² + ‖y‖² − 2·x·y, whose rounding grows with the norms and swamps
/// the distances of data far from the origin.
[[nodiscard]] Matrix<float> centred(MatrixView<const float> X);

/// ‖x_i‖² of every row, in double.
[[nodiscard]] std::vector<double> sq_norms(MatrixView<const float> X);

}  // namespace shoal::neighbors::detail
