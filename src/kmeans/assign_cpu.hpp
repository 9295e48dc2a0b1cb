#pragma once
// Nearest-centroid assignment on the CPU, and the CPU Lloyd engine built on it.

#include <memory>

#include "kmeans/lloyd.hpp"

namespace shoal::kmeans::detail {

/// How the assignment scores the centroids before deciding close calls exactly: chosen per
/// pass (Auto), or forced, for tests, to a path the CPU has.
enum class Scoring { Auto, Float, Bf16, Int8 };

/// Labels every row of X with its nearest row of C, exactly as a double-precision search
/// would (ties to the lowest index): blocks of rows × all of C are scored at once on the
/// calling thread (OpenMP over blocks) — a float GEMM, or low-precision dot products where the
/// CPU has them — the argmin is taken while the block is in cache, and rows whose two best
/// scores are within the scores' rounding bound are decided again in double. The n × k
/// distance matrix is never formed.
/// @param[in]     x_norms   [n] ‖x‖², for the rounding bound of the GEMM
/// @param[in,out] labels    [n] previous labels in, new labels out
/// @param[out]    distances [n] ‖x − c_label‖² in double, or null
/// @param[out]    second    [n] a lower bound on the distance (not squared) to the second
///                          nearest centroid, or null
/// @returns how many labels changed
index_t assign_nearest_cpu(const Context& ctx, MatrixView<const float> X, const float* x_norms,
                           MatrixView<const float> C, std::int32_t* labels, double* distances,
                           double* second = nullptr, Scoring scoring = Scoring::Auto);

/// The CPU engine of Lloyd: OpenMP + OpenBLAS, deterministic for any thread count. After the
/// first pass it keeps, per point, a lower bound on the distance to the second-nearest
/// centroid (Hamerly, "Making k-means even faster", SDM 2010) and sends through the GEMM path
/// only the points whose exact distance to their own centroid does not prove the label
/// unchanged. The labels are still exactly Lloyd's: every test is strict, with rounding
/// accounted for.
std::unique_ptr<LloydEngine> make_cpu_engine(const Context& ctx, MatrixView<const float> X,
                                             std::span<const float> weights);

/// Σ over fixed blocks of `values[i]·weights[i]` (weights may be empty), summed in block order
/// so the result does not depend on the thread count.
double ordered_weighted_sum(const Context& ctx, std::span<const double> values, std::span<const float> weights);

}  // namespace shoal::kmeans::detail
