#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "core/parallel_sort.hpp"

namespace shoal::detail {
namespace {

// Against std::sort under a total order, for thread counts that split the range unevenly, that
// are not powers of two, and sizes around the one-thread threshold; with many repeated keys.
TEST(ParallelSort, SortsAsStdSortForAnyThreadCount) {
  std::mt19937_64 random(7);
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, kParallelSortMinimum - 1, kParallelSortMinimum,
                              3 * kParallelSortMinimum + 17}) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = {static_cast<std::uint32_t>(random() % 1000), static_cast<std::uint32_t>(i)};
    std::shuffle(values.begin(), values.end(), random);
    auto expected = values;
    std::sort(expected.begin(), expected.end());
    for (const int threads : {1, 2, 3, 4, 8}) {
      auto sorted = values;
      parallel_sort(sorted, threads, std::less<>());
      EXPECT_EQ(sorted, expected) << n << " values, " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace shoal::detail
