#pragma once
/// @file
/// @brief Row-major matrices: the non-owning MatrixView every algorithm takes, and the owning
/// Matrix that readers and algorithms return.

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "shoal/error.hpp"

namespace shoal {

/// Row and column indices and counts.
using index_t = std::int64_t;

/// @brief A non-owning view of a row-major `[rows × cols]` matrix whose rows start `stride`
/// elements apart (`stride ≥ cols`).
///
/// A `MatrixView<float>` converts implicitly to `MatrixView<const float>`, the type algorithms
/// take, so callers pass their own buffers without a copy.
/// @code
/// std::vector<float> buffer(n * d);
/// shoal::MatrixView<const float> X(buffer.data(), n, d);
/// @endcode
template <class T>
class MatrixView {
 public:
  using value_type = T;

  constexpr MatrixView() = default;

  /// @param[in] data   first element, or nullptr when `rows == 0`
  /// @param[in] rows   number of rows (≥ 0)
  /// @param[in] cols   number of columns (≥ 0)
  /// @param[in] stride elements from one row to the next; `-1` (default) means `cols`
  /// @throws InvalidArgument on negative sizes, `stride < cols`, or a null pointer with data
  MatrixView(T* data, index_t rows, index_t cols, index_t stride = -1)
      : data_(data), rows_(rows), cols_(cols), stride_(stride < 0 ? cols : stride) {
    if (rows < 0 || cols < 0) {
      throw InvalidArgument("MatrixView: negative shape " + std::to_string(rows) + " x " +
                            std::to_string(cols));
    }
    if (stride_ < cols_) {
      throw InvalidArgument("MatrixView: stride " + std::to_string(stride_) +
                            " is smaller than the column count " + std::to_string(cols_));
    }
    if (data == nullptr && rows > 0 && cols > 0) {
      throw InvalidArgument("MatrixView: null data for a " + std::to_string(rows) + " x " +
                            std::to_string(cols) + " matrix");
    }
  }

  /// A view of mutable data converts to a view of const data.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  MatrixView(const MatrixView<U>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride()) {}

  [[nodiscard]] T* data() const { return data_; }
  [[nodiscard]] index_t rows() const { return rows_; }
  [[nodiscard]] index_t cols() const { return cols_; }
  [[nodiscard]] index_t stride() const { return stride_; }
  [[nodiscard]] bool empty() const { return rows_ == 0 || cols_ == 0; }
  /// True when rows are packed (`stride == cols`), so the data is one `rows·cols` block.
  [[nodiscard]] bool contiguous() const { return stride_ == cols_ || rows_ <= 1; }

  [[nodiscard]] T* row(index_t i) const { return data_ + i * stride_; }
  [[nodiscard]] T& operator()(index_t i, index_t j) const { return data_[i * stride_ + j]; }

  /// Rows `[begin, end)` as a view of the same data.
  [[nodiscard]] MatrixView row_range(index_t begin, index_t end) const {
    if (begin < 0 || end < begin || end > rows_) {
      throw InvalidArgument("MatrixView::row_range: [" + std::to_string(begin) + ", " +
                            std::to_string(end) + ") is outside 0.." + std::to_string(rows_));
    }
    return MatrixView(rows_ == 0 ? data_ : row(begin), end - begin, cols_, stride_);
  }

 private:
  T* data_ = nullptr;
  index_t rows_ = 0;
  index_t cols_ = 0;
  index_t stride_ = 0;
};

/// @brief An owning, packed row-major `[rows × cols]` matrix.
template <class T>
class Matrix {
 public:
  using value_type = T;

  Matrix() = default;

  /// A `[rows × cols]` matrix of value-initialised elements.
  Matrix(index_t rows, index_t cols) : rows_(rows), cols_(cols) {
    check_shape(rows, cols);
    data_.resize(static_cast<std::size_t>(rows * cols));
  }

  /// Takes ownership of `data`, which must hold exactly `rows·cols` elements.
  Matrix(index_t rows, index_t cols, std::vector<T> data)
      : rows_(rows), cols_(cols), data_(std::move(data)) {
    check_shape(rows, cols);
    if (data_.size() != static_cast<std::size_t>(rows * cols)) {
      throw InvalidArgument("Matrix: " + std::to_string(data_.size()) +
                            " elements cannot form a " + std::to_string(rows) + " x " +
                            std::to_string(cols) + " matrix");
    }
  }

  [[nodiscard]] T* data() { return data_.data(); }
  [[nodiscard]] const T* data() const { return data_.data(); }
  [[nodiscard]] index_t rows() const { return rows_; }
  [[nodiscard]] index_t cols() const { return cols_; }
  [[nodiscard]] bool empty() const { return rows_ == 0 || cols_ == 0; }
  [[nodiscard]] T* row(index_t i) { return data_.data() + i * cols_; }
  [[nodiscard]] const T* row(index_t i) const { return data_.data() + i * cols_; }
  [[nodiscard]] T& operator()(index_t i, index_t j) { return data_[i * cols_ + j]; }
  [[nodiscard]] const T& operator()(index_t i, index_t j) const { return data_[i * cols_ + j]; }

  [[nodiscard]] MatrixView<T> view() { return {data_.data(), rows_, cols_}; }
  [[nodiscard]] MatrixView<const T> view() const { return {data_.data(), rows_, cols_}; }
  operator MatrixView<const T>() const { return view(); }  // NOLINT(google-explicit-constructor)

  /// The elements, row after row; moving it out leaves the matrix empty.
  [[nodiscard]] const std::vector<T>& values() const { return data_; }
  [[nodiscard]] std::vector<T> release() && {
    rows_ = cols_ = 0;
    return std::move(data_);
  }

 private:
  static void check_shape(index_t rows, index_t cols) {
    if (rows < 0 || cols < 0) {
      throw InvalidArgument("Matrix: negative shape " + std::to_string(rows) + " x " +
                            std::to_string(cols));
    }
  }

  index_t rows_ = 0;
  index_t cols_ = 0;
  std::vector<T> data_;
};

}  // namespace shoal
