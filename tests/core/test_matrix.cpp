#include <gtest/gtest.h>

#include <vector>

#include "shoal/matrix.hpp"

namespace shoal {
namespace {

TEST(MatrixView, IndexesRowsWithStride) {
  std::vector<float> buffer = {0, 1, 2, 99, 3, 4, 5, 99};
  MatrixView<float> view(buffer.data(), 2, 3, 4);
  EXPECT_EQ(view(1, 2), 5.0f);
  EXPECT_FALSE(view.contiguous());
  const MatrixView<const float> as_const = view;  // mutable converts to const
  EXPECT_EQ(as_const.row(1)[0], 3.0f);
  const auto second = view.row_range(1, 2);
  EXPECT_EQ(second.rows(), 1);
  EXPECT_EQ(second(0, 1), 4.0f);
}

TEST(MatrixView, RejectsBadShapes) {
  std::vector<float> buffer(6);
  EXPECT_THROW(MatrixView<float>(buffer.data(), -1, 3), InvalidArgument);
  EXPECT_THROW(MatrixView<float>(buffer.data(), 2, 3, 2), InvalidArgument);  // stride < cols
  EXPECT_THROW(MatrixView<float>(nullptr, 2, 3), InvalidArgument);
  EXPECT_NO_THROW(MatrixView<float>(nullptr, 0, 3));
  MatrixView<float> view(buffer.data(), 2, 3);
  EXPECT_THROW((void)view.row_range(1, 3), InvalidArgument);
  EXPECT_THROW((void)view.row_range(2, 1), InvalidArgument);
}

TEST(Matrix, OwnsAndReleasesItsElements) {
  Matrix<float> m(2, 2, {1, 2, 3, 4});
  EXPECT_EQ(m(1, 0), 3.0f);
  MatrixView<const float> view = m;
  EXPECT_TRUE(view.contiguous());
  std::vector<float> values = std::move(m).release();
  EXPECT_EQ(values.size(), 4u);
  EXPECT_TRUE(m.empty());  // NOLINT(bugprone-use-after-move): release() leaves it empty
  EXPECT_THROW(Matrix<float>(2, 3, std::vector<float>(5)), InvalidArgument);
  EXPECT_THROW(Matrix<float>(-2, 3), InvalidArgument);
}

}  // namespace
}  // namespace shoal
