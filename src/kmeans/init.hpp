#pragma once
// Seeding of k-means on the host, shared by both backends so that they start from the same
// centroids. Every draw comes from Philox streams of the run's seed.

#include <cstdint>
#include <span>

#include "shoal/context.hpp"
#include "shoal/matrix.hpp"

namespace shoal::kmeans::detail {

/// Where a run's random numbers come from: stream `run` for sequential draws, and streams with
/// the top bit set for per-point draws, so no two uses overlap.
struct Seeding {
  std::uint64_t seed = 0;
  std::uint64_t run = 0;
};

/// Greedy k-means++ (scikit-learn's _kmeans_plusplus): each step draws 2 + ⌊ln k⌋ candidates
/// with probability ∝ w·D² and keeps the one that lowers the potential most.
/// @throws InvalidArgument when fewer than k distinct points carry weight
[[nodiscard]] Matrix<float> init_plus_plus(const Context& ctx, MatrixView<const float> X,
                                           std::span<const float> weights, index_t k, Seeding seeding);

/// k-means|| (Bahmani et al., "Scalable k-means++", VLDB 2012): 5 rounds in which every point
/// joins the candidates with probability min(1, 2k·w·D²/ψ), then weighted k-means++ on the
/// candidates (weighted by the points nearest to each). Falls back to k-means++ on X when the
/// rounds yield fewer than k candidates.
[[nodiscard]] Matrix<float> init_parallel(const Context& ctx, MatrixView<const float> X,
                                          std::span<const float> weights, index_t k, Seeding seeding);

/// k distinct rows drawn without replacement with probability ∝ weight (Efraimidis–Spirakis).
/// @throws InvalidArgument when fewer than k rows have positive weight
[[nodiscard]] Matrix<float> init_random(const Context& ctx, MatrixView<const float> X,
                                        std::span<const float> weights, index_t k, Seeding seeding);

}  // namespace shoal::kmeans::detail
