#include <gtest/gtest.h>

#include <cstring>

#include "shoal/datasets.hpp"
#include "shoal/error.hpp"

namespace shoal::datasets {
namespace {

std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t hash = 0xcbf29ce484222325ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

TEST(Blobs, ShapesSizesAndLabels) {
  const Blobs blobs = make_blobs({.n = 10, .d = 3, .centers = 3, .std = 0.5, .seed = 1});
  EXPECT_EQ(blobs.X.rows(), 10);
  EXPECT_EQ(blobs.X.cols(), 3);
  EXPECT_EQ(blobs.centers.rows(), 3);
  int counts[3] = {0, 0, 0};
  for (const std::int32_t label : blobs.labels) ++counts[label];
  EXPECT_EQ(counts[0], 4);  // sizes differ by at most one, the first blobs take the remainder
  EXPECT_EQ(counts[1], 3);
  EXPECT_EQ(counts[2], 3);
}

TEST(Blobs, PointsLieNearTheirCentre) {
  const Blobs blobs = make_blobs({.n = 3000, .d = 2, .centers = 3, .std = 0.1, .seed = 2});
  for (index_t i = 0; i < blobs.X.rows(); ++i) {
    for (index_t j = 0; j < 2; ++j) {
      EXPECT_NEAR(blobs.X(i, j), blobs.centers(blobs.labels[i], j), 0.7);  // 7 sigma
    }
  }
}

// The output is bit-identical on every machine: this checksum was taken on x86-64 and must
// hold on any other platform and compiler.
TEST(Blobs, SameSeedGivesTheSameBitsEverywhere) {
  const BlobsParams params{.n = 1000, .d = 5, .centers = 4, .std = 1.5, .seed = 2024};
  const Blobs a = make_blobs(params), b = make_blobs(params);
  ASSERT_EQ(a.X.values(), b.X.values());
  ASSERT_EQ(a.labels, b.labels);
  std::uint64_t hash = fnv1a(a.X.data(), a.X.values().size() * sizeof(float));
  hash = fnv1a(a.labels.data(), a.labels.size() * sizeof(std::int32_t), hash);
  EXPECT_EQ(hash, 0x399fe29defb85a3cull) << std::hex << hash;
  BlobsParams other = params;
  other.seed = 2025;
  EXPECT_NE(make_blobs(other).X.values(), a.X.values());
}

TEST(Blobs, RejectsBadParameters) {
  EXPECT_THROW((void)make_blobs({.n = 0}), InvalidArgument);
  EXPECT_THROW((void)make_blobs({.n = 5, .centers = 6}), InvalidArgument);
  EXPECT_THROW((void)make_blobs({.d = 0}), InvalidArgument);
  EXPECT_THROW((void)make_blobs({.std = 1e38}), InvalidArgument);  // would write infinities
  EXPECT_THROW((void)make_blobs({.std = -1.0}), InvalidArgument);
  EXPECT_THROW((void)make_blobs({.center_low = 1.0, .center_high = 1.0}), InvalidArgument);
}

}  // namespace
}  // namespace shoal::datasets
