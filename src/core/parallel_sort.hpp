#pragma once
// A sort on several threads for the host code's large sorts (millions of edges or keys): the
// range is cut into one piece per thread, the pieces are sorted at once, then merged pairwise.
// Under a strict total order the result is the one std::sort gives, for any thread count.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <vector>

namespace shoal::detail {

/// Below this many values one thread sorts them: the merges would cost more than they save.
inline constexpr std::size_t kParallelSortMinimum = std::size_t{1} << 16;

template <class T, class Less>
void parallel_sort(std::vector<T>& values, int threads, Less less) {
  const std::size_t n = values.size();
  const auto pieces = static_cast<std::size_t>(std::bit_floor(static_cast<unsigned>(std::max(threads, 1))));
  if (pieces < 2 || n < kParallelSortMinimum) {
    std::sort(values.begin(), values.end(), less);
    return;
  }
  const auto bound = [&](std::size_t piece) { return values.begin() + static_cast<std::ptrdiff_t>(n * piece / pieces); };
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(pieces))
  for (std::size_t piece = 0; piece < pieces; ++piece) std::sort(bound(piece), bound(piece + 1), less);
  std::vector<T> merged(n);
  for (std::size_t width = 1; width < pieces; width *= 2) {
    // Sorted runs of `width` pieces, merged two by two into `merged`, which becomes `values`.
    const std::size_t pairs = pieces / (2 * width);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(pairs))
    for (std::size_t pair = 0; pair < pairs; ++pair) {
      const std::size_t first = 2 * width * pair;
      std::merge(bound(first), bound(first + width), bound(first + width), bound(first + 2 * width),
                 merged.begin() + (bound(first) - values.begin()), less);
    }
    values.swap(merged);
  }
}

}  // namespace shoal::detail
