#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/random.hpp"

namespace shoal::detail {
namespace {

// Known-answer vectors of Philox4x32-10 from Random123 (kat_vectors): counter, key, output.
TEST(Philox, MatchesKnownAnswerVectors) {
  struct Case {
    std::uint64_t seed, stream, position;
    std::uint32_t expected[4];
  };
  const Case cases[] = {
      // all-zero counter and key
      {0, 0, 0, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      // all-ones counter and key
      {~0ull, ~0ull, ~0ull, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      // digits of pi
      {0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull,
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Case& c : cases) {
    const PhiloxBlock block = philox4x32(c.seed, c.stream, c.position);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(block.v[i], c.expected[i]) << "word " << i;
  }
}

TEST(Rng, SameSeedSameStreamSameNumbers) {
  Rng a(5, 1), b(5, 1), other_stream(5, 2);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != other_stream.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, UniformIndexCoversRangeOnly) {
  Rng rng(1);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t v = rng.uniform_index(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(Rng, NormalHasUnitMoments) {
  Rng rng(3);
  double sum = 0.0, sum_sq = 0.0;
  constexpr int kDraws = 200'000;
  for (int i = 0; i < kDraws; ++i) {
    const double x = rng.normal();
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / kDraws, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / kDraws, 1.0, 0.01);
}

TEST(PortableLog, AgreesWithLibmToRounding) {
  for (const double x : {1e-300, 1e-10, 0.1, 0.5, 0.7071, 1.0, 1.0 + 1e-12, 2.0, 3.14159, 1e10, 1e300}) {
    EXPECT_NEAR(portable_log(x), std::log(x), 4e-16 * std::max(1.0, std::abs(std::log(x)))) << x;
  }
  EXPECT_EQ(portable_log(1.0), 0.0);
}

}  // namespace
}  // namespace shoal::detail
