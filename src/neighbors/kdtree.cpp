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

/// Nodes of the subtree over m points: its shape depends on m alone (halves, down to leaves).
index_t subtree_nodes(index_t m) {
  return m <= KdTree::kLeafSize ? 1 : 1 + subtree_nodes(m / 2) + subtree_nodes(m - m / 2);
}

/// Subtrees of at least this many points are built as tasks of their own.
constexpr index_t kTaskSize = 1 << 15;

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
  // Every node's place is known before the build (preorder: a node, its left subtree, its
  // right), so that subtrees can be built at once.
  const index_t count = n > 0 ? subtree_nodes(n) : 0;
  nodes_.resize(static_cast<std::size_t>(count));
  low_.assign(static_cast<std::size_t>(count * d_), kFloatInf);
  high_.assign(static_cast<std::size_t>(count * d_), -kFloatInf);
#pragma omp parallel num_threads(threads)
#pragma omp single
  if (n > 0) build(0, 0, n);
  columns_.resize(static_cast<std::size_t>(n * d_));
#pragma omp parallel for schedule(static) num_threads(threads)
  for (index_t at = 0; at < n; ++at) {
    position_[order_[at]] = at;
    for (index_t j = 0; j < d_; ++j) columns_[j * n + at] = X(order_[at], j);
  }
}

void KdTree::build(index_t id, index_t begin, index_t end) {
  nodes_[id] = {begin, end, -1, -1};
  for (index_t at = begin; at < end; ++at) {
    const float* x = X_.row(order_[at]);
    for (index_t j = 0; j < d_; ++j) {
      low_[id * d_ + j] = std::min(low_[id * d_ + j], x[j]);
      high_[id * d_ + j] = std::max(high_[id * d_ + j], x[j]);
    }
  }
  if (end - begin <= kLeafSize) return;
  index_t widest = 0;
  for (index_t j = 1; j < d_; ++j) {
    if (high_[id * d_ + j] - low_[id * d_ + j] > high_[id * d_ + widest] - low_[id * d_ + widest]) widest = j;
  }
  // Equal points are split like any others, so that no leaf holds more than kLeafSize.
  const index_t middle = begin + (end - begin) / 2;
  std::nth_element(order_.begin() + begin, order_.begin() + middle, order_.begin() + end,
                   [&](index_t a, index_t b) { return X_(a, widest) < X_(b, widest); });
  const index_t left = id + 1, right = left + subtree_nodes(middle - begin);
  nodes_[id].left = left;
  nodes_[id].right = right;
  if (end - begin >= kTaskSize) {
#pragma omp task default(shared) firstprivate(left, begin, middle)
    build(left, begin, middle);
    build(right, middle, end);
#pragma omp taskwait
  } else {
    build(left, begin, middle);
    build(right, middle, end);
  }
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
  // The right child lies a whole subtree away from its parent: fetch it before it is popped.
  __builtin_prefetch(&nodes_[node.right]);
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
        insert_bounded(out, {scratch[i], static_cast<std::int32_t>(order_[node.begin + i])}, count);
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
  stack.clear();
  stack.emplace_back(0, 0.0f);
  while (!stack.empty()) {
    const auto [id, box] = stack.back();
    stack.pop_back();
    if (box * shrink > shared) continue;
    const Node& node = nodes_[id];
    if (node.left < 0) {
      leaf_box_sq_distances(leaf, id, boxes.data());
      const std::uint64_t near = avx512 ? scaled_at_most_avx512(boxes.data(), shrink, worst.data(), m)
                                        : scaled_at_most_portable(boxes.data(), shrink, worst.data(), m);
      bool lowered = false;
      // The bits name the points below the bound as it was; it only falls as they go in.
      const auto insert = [&](index_t q, std::uint64_t below, const float* distances) {
        auto& list = out[q];
        for (; below != 0; below &= below - 1) {
          const index_t i = std::countr_zero(below);
          if (distances[i] >= worst[q]) continue;
          insert_bounded(list, {distances[i], static_cast<std::int32_t>(order_[node.begin + i])}, count);
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
    push_children(stack, leaf, node);
  }
}

}  // namespace shoal::neighbors::detail
