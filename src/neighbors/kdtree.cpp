#include "neighbors/kdtree.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "core/simd.hpp"

namespace shoal::neighbors::detail {
namespace {

using shoal::detail::first_lanes;

constexpr float kFloatInf = std::numeric_limits<float>::infinity();

/// Subtrees of at least this many points are built as tasks of their own.
constexpr index_t kTaskSize = 1 << 15;

/// Where a node's points leave a near-empty stretch along the split dimension, the split goes
/// there: between two blobs instead of through both, whose leaves would straddle the space
/// between them (large boxes, which every search nearby has to visit). The stretch is the
/// emptiest of kGapBins equal bins over the node's extent that leaves at least kGapMargin of
/// the points on each side; it counts when it holds under kGapRatio times the points of the
/// median's bin, and that bin at least kGapMinCount points (fewer are too noisy to tell).
constexpr index_t kGapBins = 64;
constexpr double kGapMargin = 0.1;
constexpr double kGapRatio = 0.125;
constexpr index_t kGapMinCount = 32;

/// The bin of value v among kGapBins equal bins over [low, high] (high > low).
index_t gap_bin(float v, float low, float high) {
  const double scale = static_cast<double>(kGapBins) / (static_cast<double>(high) - low);
  return std::min(kGapBins - 1, static_cast<index_t>((static_cast<double>(v) - low) * scale));
}

/// A near-empty stretch: its bin (−1 for none) and how many keys lie in the bins before it.
struct Gap {
  index_t bin = -1, before = 0;
};

/// The near-empty stretch among the m keys, if there is one.
Gap find_gap(const float* keys, index_t m, float low, float high) {
  if (!(high > low)) return {};
  std::array<index_t, kGapBins> counts{};
  for (index_t i = 0; i < m; ++i) ++counts[static_cast<std::size_t>(gap_bin(keys[i], low, high))];
  index_t before = 0, median_bin = -1;
  Gap emptiest;
  const double margin = kGapMargin * static_cast<double>(m);
  for (index_t b = 0; b < kGapBins; ++b) {
    const index_t count = counts[static_cast<std::size_t>(b)];
    if (median_bin < 0 && before + count > m / 2) median_bin = b;
    const index_t after = m - before - count;
    const bool balanced = static_cast<double>(before) >= margin && static_cast<double>(after) >= margin;
    if (balanced && (emptiest.bin < 0 || count < counts[static_cast<std::size_t>(emptiest.bin)])) emptiest = {b, before};
    before += count;
  }
  if (emptiest.bin < 0) return {};
  const auto median_count = static_cast<double>(counts[static_cast<std::size_t>(median_bin)]);
  const bool gap = median_count >= kGapMinCount &&
                   static_cast<double>(counts[static_cast<std::size_t>(emptiest.bin)]) < kGapRatio * median_count;
  return gap ? emptiest : Gap{};
}

/// The searches of a leaf's points test a node against each point's own bound when its box lies
/// farther from the leaf's box than this share of their shared bound (squared distances).
constexpr float kApartShare = 0.125f;

/// Inserts into a sorted list of at most `count` entries, dropping the last when it is full
/// (the caller has checked that the entry beats it).
void insert_bounded(std::vector<std::pair<float, std::int32_t>>& list, std::pair<float, std::int32_t> entry,
                    index_t count) {
  // Lists are short: moving the entry down from the end beats a binary search and a move.
  if (static_cast<index_t>(list.size()) < count) {
    list.push_back(entry);
  } else {
    list.back() = entry;
  }
  for (std::size_t i = list.size() - 1; i > 0 && entry < list[i - 1]; --i) std::swap(list[i], list[i - 1]);
}

/// out[i] = Σ_j (columns[j·stride + i] − x[j])² for i < count ≤ 64, accumulated in float;
/// returns the mask of the i with out[i] < limit.
std::uint64_t column_sq_distances_portable(const float* columns, index_t stride, index_t count, index_t d,
                                           const float* x, float* out, float limit) {
  for (index_t i = 0; i < count; ++i) out[i] = 0.0f;
  for (index_t j = 0; j < d; ++j) {
    const float* column = columns + j * stride;
    const float q = x[j];
    for (index_t i = 0; i < count; ++i) {
      const float diff = column[i] - q;
      out[i] += diff * diff;
    }
  }
  std::uint64_t below = 0;
  for (index_t i = 0; i < count; ++i) below |= static_cast<std::uint64_t>(out[i] < limit) << i;
  return below;
}

/// box_sq_distance_portable (below) for points i < count stored as columns.
void column_box_sq_distances_portable(const float* columns, index_t stride, index_t count, index_t d,
                                      const float* low, const float* high, float* out) {
  for (index_t i = 0; i < count; ++i) out[i] = 0.0f;
  for (index_t j = 0; j < d; ++j) {
    const float* column = columns + j * stride;
    for (index_t i = 0; i < count; ++i) {
      const float gap = std::max({0.0f, low[j] - column[i], column[i] - high[j]});
      out[i] += gap * gap;
    }
  }
}

/// Bit i set where values[i]·scale ≤ limits[i], for i < count ≤ 64.
std::uint64_t scaled_at_most_portable(const float* values, float scale, const float* limits, index_t count) {
  std::uint64_t mask = 0;
  for (index_t i = 0; i < count; ++i) mask |= static_cast<std::uint64_t>(values[i] * scale <= limits[i]) << i;
  return mask;
}

/// The largest of values[0 .. count), count ≥ 1.
float largest_portable(const float* values, index_t count) { return *std::max_element(values, values + count); }

/// Σ_j gap_j² where gap_j is how far x[j] lies outside [low[j], high[j]].
float box_sq_distance_portable(const float* low, const float* high, const float* x, index_t d) {
  float sum = 0.0f;
  for (index_t j = 0; j < d; ++j) {
    const float gap = std::max({0.0f, low[j] - x[j], x[j] - high[j]});
    sum += gap * gap;
  }
  return sum;
}

/// Σ_j gap_j² where gap_j is the gap between [low_a[j], high_a[j]] and [low_b[j], high_b[j]].
float box_box_sq_distance_portable(const float* low_a, const float* high_a, const float* low_b, const float* high_b,
                                   index_t d) {
  float sum = 0.0f;
  for (index_t j = 0; j < d; ++j) {
    const float gap = std::max({0.0f, low_a[j] - high_b[j], low_b[j] - high_a[j]});
    sum += gap * gap;
  }
  return sum;
}

SHOAL_AVX512_BEGIN
/// The same four on AVX-512: sixteen points (or dimensions) per register. The column versions
/// keep one sum per register of points in flight together, so that the adds do not wait on
/// each other.
// (Four named sums rather than an array: GCC keeps an array of them in memory.)
#define SHOAL_FOR_REGISTERS(STEP) \
  STEP(0);                        \
  if constexpr (Registers > 1) STEP(1); \
  if constexpr (Registers > 2) STEP(2); \
  if constexpr (Registers > 3) STEP(3)

/// column_sq_distances_portable for x, and with Queries = 2 for y too, into out_y with its
/// mask in below_y: each column register loaded serves both queries.
template <int Registers, int Queries>
__attribute__((target("avx512f"))) std::uint64_t column_sq_distances_avx512(
    const float* columns, index_t stride, index_t count, index_t d, const float* x, const float* y, float* out_x,
    float* out_y, float limit_x, float limit_y, std::uint64_t& below_y) {
  static_assert(Queries == 1 || Queries == 2);
  __m512 sx0 = _mm512_setzero_ps(), sx1 = sx0, sx2 = sx0, sx3 = sx0, sy0 = sx0, sy1 = sx0, sy2 = sx0, sy3 = sx0;
  const __mmask16 valid0 = first_lanes(count), valid1 = first_lanes(count - 16), valid2 = first_lanes(count - 32),
                  valid3 = first_lanes(count - 48);
  for (index_t j = 0; j < d; ++j) {
    const __m512 qx = _mm512_set1_ps(x[j]);
    const __m512 qy = Queries == 2 ? _mm512_set1_ps(y[j]) : qx;
    const float* column = columns + j * stride;
#define SHOAL_STEP(r)                                                          \
  do {                                                                         \
    const __m512 point = _mm512_maskz_loadu_ps(valid##r, column + 16 * r);     \
    const __m512 dx = _mm512_sub_ps(point, qx);                                \
    sx##r = _mm512_fmadd_ps(dx, dx, sx##r);                                    \
    if constexpr (Queries == 2) {                                              \
      const __m512 dy = _mm512_sub_ps(point, qy);                              \
      sy##r = _mm512_fmadd_ps(dy, dy, sy##r);                                  \
    }                                                                          \
  } while (false)
    SHOAL_FOR_REGISTERS(SHOAL_STEP);
#undef SHOAL_STEP
  }
  std::uint64_t below_x = 0;
  below_y = 0;
  const __m512 bound_x = _mm512_set1_ps(limit_x), bound_y = _mm512_set1_ps(limit_y);
#define SHOAL_STEP(r)                                                                                  \
  do {                                                                                                 \
    _mm512_mask_storeu_ps(out_x + 16 * r, valid##r, sx##r);                                            \
    below_x |= std::uint64_t{_mm512_mask_cmp_ps_mask(valid##r, sx##r, bound_x, _CMP_LT_OQ)} << (16 * r); \
    if constexpr (Queries == 2) {                                                                      \
      _mm512_mask_storeu_ps(out_y + 16 * r, valid##r, sy##r);                                          \
      below_y |= std::uint64_t{_mm512_mask_cmp_ps_mask(valid##r, sy##r, bound_y, _CMP_LT_OQ)} << (16 * r); \
    }                                                                                                  \
  } while (false)
  SHOAL_FOR_REGISTERS(SHOAL_STEP);
#undef SHOAL_STEP
  return below_x;
}

template <int Registers>
__attribute__((target("avx512f"))) void column_box_sq_distances_avx512(const float* columns, index_t stride,
                                                                       index_t count, index_t d, const float* low,
                                                                       const float* high, float* out) {
  __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0, sum2 = sum0, sum3 = sum0;
  const __mmask16 valid0 = first_lanes(count), valid1 = first_lanes(count - 16), valid2 = first_lanes(count - 32),
                  valid3 = first_lanes(count - 48);
  for (index_t j = 0; j < d; ++j) {
    const __m512 lo = _mm512_set1_ps(low[j]), hi = _mm512_set1_ps(high[j]);
    const float* column = columns + j * stride;
#define SHOAL_STEP(r)                                                                                          \
  do {                                                                                                         \
    const __m512 q = _mm512_maskz_loadu_ps(valid##r, column + 16 * r);                                         \
    const __m512 gap = _mm512_max_ps(_mm512_max_ps(_mm512_sub_ps(lo, q), _mm512_sub_ps(q, hi)), _mm512_setzero_ps()); \
    sum##r = _mm512_fmadd_ps(gap, gap, sum##r);                                                                \
  } while (false)
    SHOAL_FOR_REGISTERS(SHOAL_STEP);
#undef SHOAL_STEP
  }
#define SHOAL_STEP(r) _mm512_mask_storeu_ps(out + 16 * r, valid##r, sum##r)
  SHOAL_FOR_REGISTERS(SHOAL_STEP);
#undef SHOAL_STEP
}
#undef SHOAL_FOR_REGISTERS

/// scaled_at_most_portable, sixteen at a time.
__attribute__((target("avx512f"))) std::uint64_t scaled_at_most_avx512(const float* values, float scale,
                                                                       const float* limits, index_t count) {
  std::uint64_t mask = 0;
  const __m512 factor = _mm512_set1_ps(scale);
  for (index_t i = 0; i < count; i += 16) {
    const __mmask16 valid = first_lanes(count - i);
    const __m512 scaled = _mm512_mul_ps(_mm512_maskz_loadu_ps(valid, values + i), factor);
    mask |= static_cast<std::uint64_t>(
                _mm512_mask_cmp_ps_mask(valid, scaled, _mm512_maskz_loadu_ps(valid, limits + i), _CMP_LE_OQ))
            << i;
  }
  return mask;
}

/// largest_portable, sixteen at a time.
__attribute__((target("avx512f"))) float largest_avx512(const float* values, index_t count) {
  __m512 largest = _mm512_set1_ps(-kFloatInf);
  for (index_t i = 0; i < count; i += 16) {
    const __mmask16 valid = first_lanes(count - i);
    largest = _mm512_mask_max_ps(largest, valid, largest, _mm512_maskz_loadu_ps(valid, values + i));
  }
  return _mm512_reduce_max_ps(largest);
}

__attribute__((target("avx512f"))) float box_sq_distance_avx512(const float* low, const float* high, const float* x,
                                                                index_t d) {
  __m512 sum = _mm512_setzero_ps();
  for (index_t j = 0; j < d; j += 16) {
    const __mmask16 valid = first_lanes(d - j);
    const __m512 q = _mm512_maskz_loadu_ps(valid, x + j);
    const __m512 gap = _mm512_max_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(valid, low + j), q),
                                                   _mm512_sub_ps(q, _mm512_maskz_loadu_ps(valid, high + j))),
                                     _mm512_setzero_ps());
    sum = _mm512_fmadd_ps(gap, gap, sum);
  }
  return _mm512_reduce_add_ps(sum);
}

/// box_box_sq_distance_portable from box a to boxes b and c at once (box a loaded once).
__attribute__((target("avx512f"))) std::pair<float, float> box_box_sq_distances_avx512(
    const float* low_a, const float* high_a, const float* low_b, const float* high_b, const float* low_c,
    const float* high_c, index_t d) {
  __m512 sum_b = _mm512_setzero_ps(), sum_c = sum_b;
  for (index_t j = 0; j < d; j += 16) {
    const __mmask16 valid = first_lanes(d - j);
    const __m512 low = _mm512_maskz_loadu_ps(valid, low_a + j), high = _mm512_maskz_loadu_ps(valid, high_a + j);
    const __m512 gap_b = _mm512_max_ps(_mm512_max_ps(_mm512_sub_ps(low, _mm512_maskz_loadu_ps(valid, high_b + j)),
                                                     _mm512_sub_ps(_mm512_maskz_loadu_ps(valid, low_b + j), high)),
                                       _mm512_setzero_ps());
    const __m512 gap_c = _mm512_max_ps(_mm512_max_ps(_mm512_sub_ps(low, _mm512_maskz_loadu_ps(valid, high_c + j)),
                                                     _mm512_sub_ps(_mm512_maskz_loadu_ps(valid, low_c + j), high)),
                                       _mm512_setzero_ps());
    sum_b = _mm512_fmadd_ps(gap_b, gap_b, sum_b);
    sum_c = _mm512_fmadd_ps(gap_c, gap_c, sum_c);
  }
  return {_mm512_reduce_add_ps(sum_b), _mm512_reduce_add_ps(sum_c)};
}
SHOAL_AVX512_END

}  // namespace

KdTree::KdTree(MatrixView<const float> X, int threads)
    : X_(X), d_(X.cols()), order_(X.rows()), position_(X.rows()),
      // Each squared difference and each of the d − 1 additions rounds once (the build does not
      // contract multiply-adds): relative error at most (d + 1)·2⁻²⁴ of the exact sum, doubled.
      float_error_(2.0 * (static_cast<double>(X.cols()) + 1.0) * std::ldexp(1.0, -24)) {
  const index_t n = X.rows();
  std::iota(order_.begin(), order_.end(), index_t{0});
  // The build moves the points themselves, as columns: each pass over a node reads its points
  // in sequence rather than scattered through X.
  columns_.resize(static_cast<std::size_t>(n * d_));
#pragma omp parallel for schedule(static) num_threads(threads)
  for (index_t at = 0; at < n; ++at) {
    for (index_t j = 0; j < d_; ++j) columns_[j * n + at] = X(at, j);
  }
  if (n > 0) {
    BuildScratch scratch{std::vector<float>(static_cast<std::size_t>(n)), std::vector<index_t>(static_cast<std::size_t>(n)),
                         std::vector<index_t>(static_cast<std::size_t>(n))};
    Subtree tree;
#pragma omp parallel num_threads(threads)
#pragma omp single
    build(tree, scratch, 0, n);
    nodes_ = std::move(tree.nodes);
    low_ = std::move(tree.low);
    high_ = std::move(tree.high);
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (index_t at = 0; at < n; ++at) position_[order_[at]] = at;
}

void KdTree::build(Subtree& tree, BuildScratch& scratch, index_t begin, index_t end) {
  const index_t n = X_.rows(), m = end - begin;
  const auto id = static_cast<index_t>(tree.nodes.size());
  tree.nodes.push_back({begin, end, -1, -1});
  tree.low.resize(tree.low.size() + static_cast<std::size_t>(d_));
  tree.high.resize(tree.high.size() + static_cast<std::size_t>(d_));
  // The box, and the dimension of largest variance to split: in blobs it separates them
  // better than the widest extent, which a few far points can set.
  index_t dimension = 0;
  double largest = -1.0;
  for (index_t j = 0; j < d_; ++j) {
    const float* column = columns_.data() + j * n + begin;
    float low = column[0], high = column[0];
    double sum = 0.0, sum_sq = 0.0;  // about the first value, against cancellation
    for (index_t i = 0; i < m; ++i) {
      low = std::min(low, column[i]);
      high = std::max(high, column[i]);
      const double v = static_cast<double>(column[i]) - column[0];
      sum += v;
      sum_sq += v * v;
    }
    tree.low[static_cast<std::size_t>(id * d_ + j)] = low;
    tree.high[static_cast<std::size_t>(id * d_ + j)] = high;
    const double spread = sum_sq - sum * sum / static_cast<double>(m);
    if (spread > largest) {
      largest = spread;
      dimension = j;
    }
  }
  if (m <= kLeafSize) return;
  const index_t middle = split(scratch, begin, end, dimension, tree.low[static_cast<std::size_t>(id * d_ + dimension)],
                               tree.high[static_cast<std::size_t>(id * d_ + dimension)]);
  tree.nodes[static_cast<std::size_t>(id)].left = id + 1;
  if (m < kTaskSize) {
    build(tree, scratch, begin, middle);
    tree.nodes[static_cast<std::size_t>(id)].right = static_cast<index_t>(tree.nodes.size());
    build(tree, scratch, middle, end);
    return;
  }
  // The right subtree is built apart, then appended with its nodes renumbered (preorder: a
  // node, its left subtree, its right), so the tree is the same for any number of threads.
  Subtree right;
#pragma omp task default(shared)
  build(right, scratch, middle, end);
  build(tree, scratch, begin, middle);
#pragma omp taskwait
  const auto offset = static_cast<index_t>(tree.nodes.size());
  tree.nodes[static_cast<std::size_t>(id)].right = offset;
  for (Node node : right.nodes) {
    if (node.left >= 0) {
      node.left += offset;
      node.right += offset;
    }
    tree.nodes.push_back(node);
  }
  tree.low.insert(tree.low.end(), right.low.begin(), right.low.end());
  tree.high.insert(tree.high.end(), right.high.begin(), right.high.end());
}

index_t KdTree::split(BuildScratch& scratch, index_t begin, index_t end, index_t dimension, float low, float high) {
  const index_t n = X_.rows(), m = end - begin;
  const float* keys = columns_.data() + dimension * n;
  index_t* destination = scratch.destination.data();
  index_t left = 0;  // points going left, then the position of the first going right
  if (const Gap gap = find_gap(keys + begin, m, low, high); gap.bin >= 0) {
    left = gap.before;
    index_t to_left = begin, to_right = begin + left;
    for (index_t at = begin; at < end; ++at) destination[at] = gap_bin(keys[at], low, high) < gap.bin ? to_left++ : to_right++;
  } else {
    // Otherwise at the order statistic that leaves the fewest leaves below, evenly filled:
    // ⌈m / kLeafSize⌉ leaves, ⌈half⌉ of them on the left.
    const index_t leaves = (m + kLeafSize - 1) / kLeafSize;
    left = m * ((leaves + 1) / 2) / leaves;
    float* sorted = scratch.values.data() + begin;
    std::copy(keys + begin, keys + end, sorted);
    std::nth_element(sorted, sorted + left - 1, sorted + m);
    const float last_left = sorted[left - 1];
    index_t below = 0;
    for (index_t at = begin; at < end; ++at) below += keys[at] < last_left ? 1 : 0;
    // Points equal to the last key on the left fill its remaining places in order.
    index_t equal_left = left - below, to_left = begin, to_right = begin + left;
    for (index_t at = begin; at < end; ++at) {
      const bool goes_left = keys[at] < last_left || (keys[at] == last_left && equal_left-- > 0);
      destination[at] = goes_left ? to_left++ : to_right++;
    }
  }
  // Stable partition of the order and of every column through the scratch.
  for (index_t at = begin; at < end; ++at) scratch.order[static_cast<std::size_t>(destination[at])] = order_[at];
  std::copy(scratch.order.begin() + begin, scratch.order.begin() + end, order_.begin() + begin);
  for (index_t j = 0; j < d_; ++j) {
    float* column = columns_.data() + j * n;
    for (index_t at = begin; at < end; ++at) scratch.values[static_cast<std::size_t>(destination[at])] = column[at];
    std::copy(scratch.values.begin() + begin, scratch.values.begin() + end, column + begin);
  }
  return begin + left;
}

void KdTree::copy_point(index_t position, float* out) const {
  for (index_t j = 0; j < d_; ++j) out[j] = columns_[static_cast<std::size_t>(j * X_.rows() + position)];
}

void KdTree::push_children(Stack& stack, const Node& node, float left_distance, float right_distance) {
  if (left_distance <= right_distance) {
    stack.emplace_back(node.right, right_distance);
    stack.emplace_back(node.left, left_distance);
  } else {
    stack.emplace_back(node.left, left_distance);
    stack.emplace_back(node.right, right_distance);
  }
}

float KdTree::box_sq_distance(const float* x, index_t node) const {
  const float* low = low_.data() + node * d_;
  const float* high = high_.data() + node * d_;
  return shoal::detail::kHasAvx512 ? box_sq_distance_avx512(low, high, x, d_)
                                   : box_sq_distance_portable(low, high, x, d_);
}

void KdTree::push_children(Stack& stack, index_t from, const Node& node) const {
  const float *low = low_.data() + from * d_, *high = high_.data() + from * d_;
  const float *low_left = low_.data() + node.left * d_, *high_left = high_.data() + node.left * d_;
  const float *low_right = low_.data() + node.right * d_, *high_right = high_.data() + node.right * d_;
  const auto [left, right] =
      shoal::detail::kHasAvx512
          ? box_box_sq_distances_avx512(low, high, low_left, high_left, low_right, high_right, d_)
          : std::pair{box_box_sq_distance_portable(low, high, low_left, high_left, d_),
                      box_box_sq_distance_portable(low, high, low_right, high_right, d_)};
  // The right child lies a whole subtree away from its parent: fetch it before it is popped,
  // and the boxes of both children's left children (next in preorder), which its pop reads.
  __builtin_prefetch(&nodes_[node.right]);
  for (const index_t child : {node.left, node.right}) {
    __builtin_prefetch(low_.data() + (child + 1) * d_);
    __builtin_prefetch(high_.data() + (child + 1) * d_);
  }
  push_children(stack, node, left, right);
}

namespace {

/// Calls f(std::integral_constant<int, R>{}) with R = ⌈count / 16⌉ registers, for a leaf of
/// 1 to 64 points.
template <class F>
auto with_registers(index_t count, F&& f) {
  static_assert(KdTree::kLeafSize == 64);
  switch ((count + 15) / 16) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    default: return f(std::integral_constant<int, 4>{});
  }
}

}  // namespace

void KdTree::leaf_box_sq_distances(index_t leaf, index_t node, float* out) const {
  const Node& queries = nodes_[leaf];
  const float* columns = columns_.data() + queries.begin;
  const index_t count = queries.end - queries.begin;
  const float* low = low_.data() + node * d_;
  const float* high = high_.data() + node * d_;
  if (!shoal::detail::kHasAvx512) {
    column_box_sq_distances_portable(columns, X_.rows(), count, d_, low, high, out);
    return;
  }
  with_registers(count, [&](auto registers) {
    column_box_sq_distances_avx512<registers>(columns, X_.rows(), count, d_, low, high, out);
  });
}

std::uint64_t KdTree::leaf_sq_distances(const float* x, index_t node, float* out, float limit) const {
  const Node& leaf = nodes_[node];
  const float* columns = columns_.data() + leaf.begin;
  const index_t count = leaf.end - leaf.begin;
  if (!shoal::detail::kHasAvx512) return column_sq_distances_portable(columns, X_.rows(), count, d_, x, out, limit);
  return with_registers(count, [&](auto registers) {
    std::uint64_t unused = 0;
    return column_sq_distances_avx512<registers, 1>(columns, X_.rows(), count, d_, x, nullptr, out, nullptr, limit,
                                                    0.0f, unused);
  });
}

std::pair<std::uint64_t, std::uint64_t> KdTree::leaf_sq_distances(const float* x, const float* y, index_t node,
                                                                   float* out_x, float* out_y, float limit_x,
                                                                   float limit_y) const {
  if (!shoal::detail::kHasAvx512) {
    return {leaf_sq_distances(x, node, out_x, limit_x), leaf_sq_distances(y, node, out_y, limit_y)};
  }
  const Node& leaf = nodes_[node];
  const float* columns = columns_.data() + leaf.begin;
  const index_t count = leaf.end - leaf.begin;
  std::uint64_t below_y = 0;
  const std::uint64_t below_x = with_registers(count, [&](auto registers) {
    return column_sq_distances_avx512<registers, 2>(columns, X_.rows(), count, d_, x, y, out_x, out_y, limit_x,
                                                    limit_y, below_y);
  });
  return {below_x, below_y};
}

void KdTree::nearest(index_t query, index_t count, std::vector<std::pair<float, std::int32_t>>& out, Stack& stack,
                     std::vector<float>& scratch) const {
  const float* x = X_.row(query);
  out.clear();
  scratch.resize(kLeafSize);
  // Box distances are float lower bounds too: shrink them past their rounding before pruning.
  const auto shrink = static_cast<float>(1.0 - 2.0 * float_error_);
  const auto worst = [&] { return static_cast<index_t>(out.size()) < count ? kFloatInf : out.back().first; };
  // A node waits with its box distance, and is pruned when popped if the bound has dropped.
  stack.clear();
  stack.emplace_back(0, 0.0f);
  while (!stack.empty()) {
    const auto [id, box] = stack.back();
    stack.pop_back();
    if (box * shrink > worst()) continue;
    const Node& node = nodes_[id];
    if (node.left < 0) {
      // The bits name the points below the bound as it was; it only falls as they go in.
      for (std::uint64_t below = leaf_sq_distances(x, id, scratch.data(), worst()); below != 0; below &= below - 1) {
        const index_t i = std::countr_zero(below);
        if (scratch[i] >= worst()) continue;
        insert_bounded(out, {scratch[i], static_cast<std::int32_t>(node.begin + i)}, count);
      }
      continue;
    }
    push_children(stack, node, box_sq_distance(x, node.left), box_sq_distance(x, node.right));
  }
}

void KdTree::nearest_for_leaf(index_t leaf, index_t count, std::vector<std::vector<std::pair<float, std::int32_t>>>& out,
                              Stack& stack, std::vector<float>& scratch) const {
  const Node& queries = nodes_[leaf];
  const index_t m = queries.end - queries.begin;
  out.resize(static_cast<std::size_t>(m));
  for (auto& list : out) list.clear();
  scratch.resize(2 * kLeafSize);
  const auto shrink = static_cast<float>(1.0 - 2.0 * float_error_);
  // worst[q]: the last distance of query q's list once it is full. Every list is full and no
  // worse than `shared`: a node farther than it helps none.
  std::array<float, kLeafSize> worst, boxes;
  worst.fill(kFloatInf);
  float shared = kFloatInf;
  const bool avx512 = shoal::detail::kHasAvx512;
  // The queries whose own bound a node's box may beat.
  const auto near_queries = [&](index_t id) {
    leaf_box_sq_distances(leaf, id, boxes.data());
    return avx512 ? scaled_at_most_avx512(boxes.data(), shrink, worst.data(), m)
                  : scaled_at_most_portable(boxes.data(), shrink, worst.data(), m);
  };
  stack.clear();
  stack.emplace_back(0, 0.0f);
  while (!stack.empty()) {
    const auto [id, box] = stack.back();
    stack.pop_back();
    if (box * shrink > shared) continue;
    const Node& node = nodes_[id];
    if (node.left < 0) {
      const std::uint64_t near = near_queries(id);
      bool lowered = false;
      // The bits name the points below the bound as it was; it only falls as they go in.
      const auto insert = [&](index_t q, std::uint64_t below, const float* distances) {
        auto& list = out[q];
        for (; below != 0; below &= below - 1) {
          const index_t i = std::countr_zero(below);
          if (distances[i] >= worst[q]) continue;
          insert_bounded(list, {distances[i], static_cast<std::int32_t>(node.begin + i)}, count);
          if (static_cast<index_t>(list.size()) == count) {
            worst[q] = list.back().first;
            lowered = true;
          }
        }
      };
      // Two queries at a time: one pass over the leaf's points serves both.
      for (std::uint64_t bits = near; bits != 0;) {
        const index_t q = std::countr_zero(bits);
        bits &= bits - 1;
        const float* x = X_.row(order_[queries.begin + q]);
        if (bits == 0) {
          insert(q, leaf_sq_distances(x, id, scratch.data(), worst[q]), scratch.data());
          break;
        }
        const index_t r = std::countr_zero(bits);
        bits &= bits - 1;
        const auto [below_q, below_r] = leaf_sq_distances(x, X_.row(order_[queries.begin + r]), id, scratch.data(),
                                                          scratch.data() + kLeafSize, worst[q], worst[r]);
        insert(q, below_q, scratch.data());
        insert(r, below_r, scratch.data() + kLeafSize);
      }
      if (lowered) shared = avx512 ? largest_avx512(worst.data(), m) : largest_portable(worst.data(), m);
      continue;
    }
    // A subtree well apart from the leaf's box may still be out of every query's own reach,
    // which one box distance per query tells (in 16 dimensions the box reaches far beyond its
    // points). Near the box the test rarely prunes, and is not worth its cost.
    if (box > kApartShare * shared && near_queries(id) == 0) continue;
    push_children(stack, leaf, node);
  }
}

}  // namespace shoal::neighbors::detail
