// kNN through FAISS (Debian libfaiss-dev, static): exact IndexFlatL2, or approximate HNSW and
// IVF-Flat. FAISS ranks by float distances; the candidates are then measured in double.
// Debian's FAISS 1.7 headers use uint8_t without including <cstdint>, which GCC 13 no longer
// pulls in through other headers.
#include <cstdint>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "core/check.hpp"
#include "neighbors/knn.hpp"

namespace shoal::neighbors::detail {
namespace {

constexpr index_t kExtraCandidates = 8;     // searched beyond k + 1, re-ranked exactly
constexpr index_t kQueryBatch = 1 << 16;    // queries per FAISS call, bounding its output buffers

/// Sets OpenMP's thread count for FAISS's parallel regions, restoring it afterwards.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ThreadLimit() { omp_set_num_threads(previous_); }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int previous_;
};

std::unique_ptr<faiss::Index> build(const float* data, index_t n, index_t d, index_t wanted, const IndexParams& params,
                                    Index index) {
  const auto dim = static_cast<int>(d);
  if (index == Index::Hnsw) {
    SHOAL_EXPECTS(params.hnsw_m >= 2 && params.hnsw_ef_construction >= 1 && params.hnsw_ef_search >= 1,
                  "HNSW needs m >= 2 and ef values >= 1, got m = ", params.hnsw_m);
    auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(dim, params.hnsw_m);
    hnsw->hnsw.efConstruction = params.hnsw_ef_construction;
    hnsw->hnsw.efSearch = std::max<int>(params.hnsw_ef_search, static_cast<int>(wanted));
    hnsw->add(n, data);
    return hnsw;
  }
  if (index == Index::Ivf) {
    const index_t lists = params.ivf_lists > 0
                              ? params.ivf_lists
                              : std::max<index_t>(1, static_cast<index_t>(4.0 * std::sqrt(static_cast<double>(n))));
    SHOAL_EXPECTS(lists <= n, "IVF with ", lists, " lists needs at least that many points, got ", n);
    SHOAL_EXPECTS(params.ivf_probes >= 1, "IVF probes = ", params.ivf_probes, " must be at least 1");
    auto quantizer = std::make_unique<faiss::IndexFlatL2>(dim);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim, static_cast<std::size_t>(lists));
    ivf->own_fields = true;
    quantizer.release();
    ivf->cp.verbose = false;
    ivf->cp.min_points_per_centroid = 1;  // only sets when FAISS warns, on stderr, of few points
    ivf->train(n, data);
    ivf->nprobe = static_cast<std::size_t>(std::min<index_t>(params.ivf_probes, lists));
    ivf->add(n, data);
    return ivf;
  }
  auto flat = std::make_unique<faiss::IndexFlatL2>(dim);
  flat->add(n, data);
  return flat;
}

}  // namespace

Neighbors search_faiss(const Context& ctx, MatrixView<const float> X, index_t k, const IndexParams& params, Index index,
                       std::span<const char> settled) {
  const index_t n = X.rows(), d = X.cols();
  const Matrix<float> searched = centred(X);  // contiguous, as FAISS reads it
  const float* data = searched.data();
  const ThreadLimit threads(ctx.threads());
  const index_t wanted = std::min<index_t>(n, k + 1 + kExtraCandidates);
  const std::unique_ptr<faiss::Index> search_index = build(data, n, d, wanted, params, index);

  Neighbors out;
  out.n = n;
  out.k = k;
  out.index = index;
  out.indices.resize(n * k);
  out.distances.resize(n * k);
  out.radius.assign(n, 0.0);
  // Only the exact flat search ranks every point, so only its radius is certified.
  const std::vector<double> norms = index == Index::Flat ? sq_norms(searched) : std::vector<double>();
  std::vector<float> found_sq(static_cast<std::size_t>(std::min(n, kQueryBatch) * wanted));
  std::vector<faiss::Index::idx_t> found(found_sq.size());
  std::vector<std::int32_t> candidates(found.size());
  std::vector<float> last_sq(static_cast<std::size_t>(std::min(n, kQueryBatch)));
  for (index_t begin = 0; begin < n; begin += kQueryBatch) {
    const index_t rows = std::min(kQueryBatch, n - begin);
    search_index->search(rows, data + begin * d, wanted, found_sq.data(), found.data());
    for (index_t r = 0; r < rows; ++r) {
      for (index_t j = 0; j < wanted; ++j) candidates[r * wanted + j] = static_cast<std::int32_t>(found[r * wanted + j]);
      last_sq[r] = found_sq[r * wanted + wanted - 1];
    }
    finish_float_ranked(ctx, X, begin, rows, wanted, candidates.data(), last_sq.data(), norms, settled, out);
  }
  return out;
}

}  // namespace shoal::neighbors::detail
