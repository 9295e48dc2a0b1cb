// Using libshoal from C++: built by tests/consumer against an installed shoal, and shown in
// the README.
#include <shoal/shoal.hpp>

#include <cstdio>

int main() {
  shoal::Context ctx;  // a GPU when present, the CPU otherwise
  const shoal::datasets::Blobs blobs =
      shoal::datasets::make_blobs({.n = 2000, .d = 8, .centers = 5, .std = 1.0, .seed = 42});

  shoal::io::write_matrix("blobs.npy", blobs.X);
  const shoal::Matrix<float> X = shoal::io::read_matrix("blobs.npy");

  const double silhouette = shoal::metrics::silhouette_score(ctx, X, blobs.labels);
  std::printf("%lld points, %lld dimensions, silhouette of the true blobs %.3f\n",
              static_cast<long long>(X.rows()), static_cast<long long>(X.cols()), silhouette);
  return silhouette > 0.5 ? 0 : 1;
}
