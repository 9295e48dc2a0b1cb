// Using libshoal from C++: built by tests/consumer against an installed shoal, and shown in
// the README.
#include <shoal/shoal.hpp>

#include <cstdio>
#include <string>

int main() {
  shoal::Context ctx;  // a GPU when present, the CPU otherwise
  const shoal::datasets::Blobs blobs =
      shoal::datasets::make_blobs({.n = 20000, .d = 8, .centers = 5, .std = 1.0, .seed = 42});
  shoal::io::write_matrix("blobs.npy", blobs.X);
  const shoal::Matrix<float> X = shoal::io::read_matrix("blobs.npy");

  shoal::kmeans::Params params;
  params.k = 5;
  const shoal::kmeans::Result fit = shoal::kmeans::fit(ctx, X, params);
  const double ari = shoal::metrics::adjusted_rand_index(blobs.labels, fit.labels);
  std::printf("k-means on the %s: %d iterations, inertia %.6g, ARI %.3f against the blobs\n",
              std::string(shoal::to_string(fit.backend)).c_str(), fit.n_iter, fit.inertia, ari);
  return ari > 0.9 ? 0 : 1;
}
