// The CUDA engine of Lloyd. Per batch of rows: cuBLAS tiles of −2·X·Cᵀ (TF32 on the tensor
// cores while close calls stay rare, then FP32: the scan's bounds make the labels exact either
// way), the exact nearest-centroid kernel, a deterministic weighted inertia sum, and the
// sorted-label centroid reduction. Two tiles alternate: the scan of one (memory-bound, on the
// scan stream) runs beside the GEMM of the next (compute-bound, on the main stream). X stays
// resident when the plan allows; otherwise batches stream from pinned staging buffers on a
// copy stream, the copy of batch i+1 overlapping the compute of batch i.
// All device memory is carved from the context's workspace once, in the constructor.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "core/check.hpp"
#include "core/cuda_resources.cuh"
#include "kernels/distance/sq_l2.hpp"
#include "kernels/kmeans/lloyd.hpp"
#include "kmeans/device_plan.hpp"
#include "kmeans/lloyd_cuda.hpp"

namespace shoal::kmeans::detail {
namespace {

using shoal::detail::concat;
using shoal::detail::CudaResources;
using shoal::detail::DeviceScope;
using shoal::detail::Workspace;
using shoal::detail::WorkspaceCarver;
using shoal::kernels::GemmPrecision;
namespace kk = shoal::kernels::kmeans;

/// Once more than one row in kMostCloseCalls is a close call, the tiles go back to FP32.
constexpr unsigned long long kMostCloseCalls = 100;

/// The tiles' first precision: TF32 on the tensor cores, unless SHOAL_NO_TF32 is set (tests
/// compare the two; labels and distances are the same either way).
GemmPrecision first_precision() {
  const char* off = std::getenv("SHOAL_NO_TF32");
  return off != nullptr && *off != '\0' ? GemmPrecision::Fp32 : GemmPrecision::Tf32;
}

/// Page-locked host memory, so that copies from it run asynchronously.
template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(std::size_t count) {
    if (count > 0) {
      void* ptr = nullptr;
      SHOAL_CUDA_CHECK(cudaMallocHost(&ptr, count * sizeof(T)));
      data_ = static_cast<T*>(ptr);
    }
  }
  ~PinnedBuffer() {
    if (data_ != nullptr) cudaFreeHost(data_);
  }
  PinnedBuffer(PinnedBuffer&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {}
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    return *this;
  }
  [[nodiscard]] T* data() const { return data_; }

 private:
  T* data_ = nullptr;
};

/// Device pointers of one batch of rows [begin, begin + rows).
struct Batch {
  index_t begin = 0;
  index_t rows = 0;
  const float* x = nullptr;
  const float* weights = nullptr;  // null without sample weights
  std::int32_t* labels = nullptr;
};

class CudaLloyd final : public LloydEngine {
 public:
  CudaLloyd(const Context& ctx, MatrixView<const float> X, std::span<const float> weights, index_t k)
      : cuda_(ctx.cuda()), scope_(cuda_.device()), stream_(cuda_.stream()), X_(X), host_weights_(weights),
        k_(k), n_(X.rows()), d_(X.cols()), plan_(plan_device(n_, d_, k_, shoal::detail::usable_device_memory(ctx))),
        labels_(n_, -1), distances_(n_) {
    SHOAL_EXPECTS(k_ <= INT32_MAX && d_ <= INT32_MAX, "k = ", k_, " or d = ", d_, " is too large for the GPU kernels");
    const bool weighted = !weights.empty();
    const index_t batch = plan_.batch_rows, slots = plan_.resident ? 1 : 2;
    const index_t data_rows = plan_.resident ? n_ : 2 * batch;
    const index_t chunks = kk::max_chunks(batch, static_cast<int>(k_), kReduceChunkRows);
    const std::size_t cub_size = kk::cub_bytes(batch, static_cast<int>(k_));

    std::size_t bytes = 0;
    const auto add = [&]<class T>(T*, index_t count) { bytes += Workspace::bytes_for<T>(static_cast<std::size_t>(count)); };
    add(static_cast<float*>(nullptr), data_rows * d_);                 // x
    if (weighted) add(static_cast<float*>(nullptr), data_rows);        // weights
    add(static_cast<std::int32_t*>(nullptr), data_rows);               // labels
    add(static_cast<double*>(nullptr), plan_.resident ? n_ : batch);   // distances
    add(static_cast<float*>(nullptr), plan_.resident ? n_ : batch);    // x norms
    add(static_cast<float*>(nullptr), k_ * d_ + k_);                   // centroids, their norms
    add(static_cast<double*>(nullptr), k_ * d_ + k_);                  // sums, cluster weights
    add(static_cast<float*>(nullptr), kTileBuffers * plan_.tile_rows * k_);  // distance tiles
    add(static_cast<std::int32_t*>(nullptr), 3 * batch);               // sort keys, order in and out
    add(static_cast<std::int64_t*>(nullptr), 3 * (k_ + 1));           // offsets, chunk counts and starts
    add(static_cast<double*>(nullptr), chunks * (d_ + 1));             // chunk partial sums
    add(static_cast<double*>(nullptr), kk::kMaxSumPartials + 1);       // inertia partials and total
    add(static_cast<unsigned long long*>(nullptr), 2);                 // changed labels, close calls
    bytes += Workspace::bytes_for<std::byte>(cub_size);

    WorkspaceCarver carve(cuda_.workspace().reserve(bytes));
    x_ = carve.take<float>(data_rows * d_);
    weights_ = weighted ? carve.take<float>(data_rows) : nullptr;
    device_labels_ = carve.take<std::int32_t>(data_rows);
    device_distances_ = carve.take<double>(plan_.resident ? n_ : batch);
    x_norms_ = carve.take<float>(plan_.resident ? n_ : batch);
    centroids_ = carve.take<float>(k_ * d_ + k_);
    c_norms_ = centroids_ + k_ * d_;
    sums_ = carve.take<double>(k_ * d_ + k_);
    cluster_weights_ = sums_ + k_ * d_;
    static_assert(kTileBuffers == 2, "the tile loop alternates two slots");
    tiles_[0] = carve.take<float>(kTileBuffers * plan_.tile_rows * k_);
    tiles_[1] = tiles_[0] + plan_.tile_rows * k_;
    scratch_.sorted_labels = carve.take<std::int32_t>(3 * batch);
    scratch_.order_in = scratch_.sorted_labels + batch;
    scratch_.order = scratch_.order_in + batch;
    scratch_.offsets = carve.take<std::int64_t>(3 * (k_ + 1));
    scratch_.chunk_counts = scratch_.offsets + (k_ + 1);
    scratch_.chunk_starts = scratch_.chunk_counts + (k_ + 1);
    scratch_.partials = carve.take<double>(chunks * (d_ + 1));
    sum_partials_ = carve.take<double>(kk::kMaxSumPartials + 1);
    inertia_ = sum_partials_ + kk::kMaxSumPartials;
    counts_ = carve.take<unsigned long long>(2);
    scratch_.cub = carve.take<std::byte>(cub_size);
    scratch_.cub_size = cub_size;
    kk::fill_iota(scratch_.order_in, batch, stream_);
    SHOAL_CUDA_CHECK(cudaStreamCreateWithFlags(&scan_stream_, cudaStreamNonBlocking));
    for (int t = 0; t < kTileBuffers; ++t) {
      SHOAL_CUDA_CHECK(cudaEventCreateWithFlags(&tile_ready_[t], cudaEventDisableTiming));
      SHOAL_CUDA_CHECK(cudaEventCreateWithFlags(&tile_scanned_[t], cudaEventDisableTiming));
    }
    SHOAL_CUDA_CHECK(cudaEventCreateWithFlags(&scans_done_, cudaEventDisableTiming));

    if (plan_.resident) {
      SHOAL_CUDA_CHECK(cudaMemcpy2DAsync(x_, d_ * sizeof(float), X.data(), X.stride() * sizeof(float),
                                         d_ * sizeof(float), n_, cudaMemcpyHostToDevice, stream_));
      if (weighted) {
        SHOAL_CUDA_CHECK(cudaMemcpyAsync(weights_, weights.data(), n_ * sizeof(float), cudaMemcpyHostToDevice, stream_));
      }
      shoal::kernels::row_sq_norms(x_, n_, d_, d_, x_norms_, stream_);
    } else {
      for (index_t s = 0; s < slots; ++s) {
        staged_x_[s] = PinnedBuffer<float>(batch * d_);
        staged_weights_[s] = PinnedBuffer<float>(weighted ? batch : 0);
        staged_labels_in_[s] = PinnedBuffer<std::int32_t>(batch);
        staged_labels_out_[s] = PinnedBuffer<std::int32_t>(batch);
        staged_distances_[s] = PinnedBuffer<double>(batch);
        SHOAL_CUDA_CHECK(cudaEventCreateWithFlags(&copied_[s], cudaEventDisableTiming));
        SHOAL_CUDA_CHECK(cudaEventCreateWithFlags(&done_[s], cudaEventDisableTiming));
      }
      SHOAL_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
    }
    cuda_.synchronize();
  }

  ~CudaLloyd() override {
    cudaStreamSynchronize(stream_);
    if (copy_stream_ != nullptr) {
      cudaStreamSynchronize(copy_stream_);
      cudaStreamDestroy(copy_stream_);
    }
    if (scan_stream_ != nullptr) {
      cudaStreamSynchronize(scan_stream_);
      cudaStreamDestroy(scan_stream_);
    }
    for (int s = 0; s < 2; ++s) {
      for (cudaEvent_t event : {copied_[s], done_[s], tile_ready_[s], tile_scanned_[s]}) {
        if (event != nullptr) cudaEventDestroy(event);
      }
    }
    if (scans_done_ != nullptr) cudaEventDestroy(scans_done_);
  }

  void reset_labels() override {
    std::fill(labels_.begin(), labels_.end(), -1);
    if (plan_.resident) SHOAL_CUDA_CHECK(cudaMemsetAsync(device_labels_, 0xff, n_ * sizeof(std::int32_t), stream_));
    host_labels_current_ = true;
  }

  void assign(MatrixView<const float> centroids, bool accumulate, AssignOutput& out) override {
    const float c_norm_max = upload_centroids(centroids);
    SHOAL_CUDA_CHECK(cudaMemsetAsync(counts_, 0, 2 * sizeof(unsigned long long), stream_));
    SHOAL_CUDA_CHECK(cudaMemsetAsync(inertia_, 0, sizeof(double), stream_));
    if (accumulate) SHOAL_CUDA_CHECK(cudaMemsetAsync(sums_, 0, (k_ * d_ + k_) * sizeof(double), stream_));
    const double norm_error = shoal::kernels::gemm_rounding(d_, GemmPrecision::Fp32).unit;
    const shoal::kernels::GemmRounding dot = shoal::kernels::gemm_rounding(d_, precision_);
    const int k = static_cast<int>(k_), d = static_cast<int>(d_);

    for_each_batch(true, [&](const Batch& batch, float* x_norms, double* distances) {
      if (!plan_.resident) shoal::kernels::row_sq_norms(batch.x, batch.rows, d_, d_, x_norms, stream_);
      int slot = 0;
      for (index_t first = 0; first < batch.rows; first += plan_.tile_rows, slot = 1 - slot) {
        const index_t rows = std::min(plan_.tile_rows, batch.rows - first);
        float* tile = tiles_[slot];
        // The GEMM overwrites the tile only after the scan that last read it.
        SHOAL_CUDA_CHECK(cudaStreamWaitEvent(stream_, tile_scanned_[slot], 0));
        shoal::kernels::gemm_minus_two_xyt(cuda_.cublas(), batch.x + first * d_, d_, rows, centroids_, d_, k_, d_,
                                           tile, k_, precision_);
        SHOAL_CUDA_CHECK(cudaEventRecord(tile_ready_[slot], stream_));
        SHOAL_CUDA_CHECK(cudaStreamWaitEvent(scan_stream_, tile_ready_[slot], 0));
        kk::nearest_centroid(tile, c_norms_, c_norm_max, norm_error, dot, batch.x + first * d_, x_norms + first,
                             centroids_, rows, k, d, batch.labels + first, distances + first, counts_, scan_stream_);
        SHOAL_CUDA_CHECK(cudaEventRecord(tile_scanned_[slot], scan_stream_));
      }
      // What follows reads the labels and distances: back on the main stream.
      SHOAL_CUDA_CHECK(cudaEventRecord(scans_done_, scan_stream_));
      SHOAL_CUDA_CHECK(cudaStreamWaitEvent(stream_, scans_done_, 0));
      kk::weighted_sum(distances, batch.weights, batch.rows, sum_partials_, inertia_, stream_);
      if (accumulate) {
        kk::accumulate_cluster_sums(batch.x, batch.weights, batch.labels, batch.rows, k, d, kReduceChunkRows,
                                    scratch_, sums_, cluster_weights_, stream_);
      }
    });

    unsigned long long counts[2] = {0, 0};  // changed labels, close calls
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(counts, counts_, sizeof counts, cudaMemcpyDeviceToHost, stream_));
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(&out.inertia, inertia_, sizeof(double), cudaMemcpyDeviceToHost, stream_));
    if (accumulate) {
      out.sums.resize(k_ * d_);
      out.weights.resize(k_);
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(out.sums.data(), sums_, k_ * d_ * sizeof(double), cudaMemcpyDeviceToHost, stream_));
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(out.weights.data(), cluster_weights_, k_ * sizeof(double),
                                       cudaMemcpyDeviceToHost, stream_));
    }
    cuda_.synchronize();
    out.changed = static_cast<index_t>(counts[0]);
    // TF32 pays while close calls are rare; where the data makes them common (rows far from
    // the origin, relative to their spread, round coarsely), FP32 decides more rows at once.
    if (precision_ == GemmPrecision::Tf32 && counts[1] * kMostCloseCalls > static_cast<unsigned long long>(n_)) {
      precision_ = GemmPrecision::Fp32;
    }
    host_labels_current_ = !plan_.resident;
    host_distances_current_ = !plan_.resident;
  }

  double inertia(MatrixView<const float> centroids) override {
    upload_centroids(centroids);
    SHOAL_CUDA_CHECK(cudaMemsetAsync(inertia_, 0, sizeof(double), stream_));
    for_each_batch(false, [&](const Batch& batch, float*, double* distances) {
      kk::labelled_distance(batch.x, centroids_, batch.labels, batch.rows, static_cast<int>(d_), distances, stream_);
      kk::weighted_sum(distances, batch.weights, batch.rows, sum_partials_, inertia_, stream_);
    });
    double total = 0.0;
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(&total, inertia_, sizeof total, cudaMemcpyDeviceToHost, stream_));
    cuda_.synchronize();
    host_distances_current_ = !plan_.resident;
    return total;
  }

  std::vector<index_t> farthest(index_t count) override {
    if (!host_distances_current_) {
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(distances_.data(), device_distances_, n_ * sizeof(double),
                                       cudaMemcpyDeviceToHost, stream_));
      cuda_.synchronize();
      host_distances_current_ = true;
    }
    return farthest_points(distances_, count);
  }

  std::span<const std::int32_t> labels() override {
    if (!host_labels_current_) {
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(labels_.data(), device_labels_, n_ * sizeof(std::int32_t),
                                       cudaMemcpyDeviceToHost, stream_));
      cuda_.synchronize();
      host_labels_current_ = true;
    }
    return labels_;
  }

 private:
  /// Copies the centroids and their norms to the device; returns the largest norm.
  float upload_centroids(MatrixView<const float> centroids) {
    SHOAL_ASSERT(centroids.rows() == k_ && centroids.cols() == d_);
    host_centroids_.resize(k_ * d_ + k_);
    float c_norm_max = 0.0f;
    for (index_t c = 0; c < k_; ++c) {
      std::copy_n(centroids.row(c), d_, host_centroids_.data() + c * d_);
      double norm = 0.0;
      for (index_t j = 0; j < d_; ++j) norm += static_cast<double>(centroids(c, j)) * centroids(c, j);
      host_centroids_[k_ * d_ + c] = static_cast<float>(norm);
      c_norm_max = std::max(c_norm_max, static_cast<float>(norm));
    }
    SHOAL_CUDA_CHECK(cudaMemcpyAsync(centroids_, host_centroids_.data(), host_centroids_.size() * sizeof(float),
                                     cudaMemcpyHostToDevice, stream_));
    return c_norm_max;
  }

  /// Runs `compute(batch, x_norms, distances)` on every batch, in order, on the main stream.
  /// Streaming: the host stages batch i into pinned slot i % 2 while the GPU works on batch
  /// i − 1, the copy stream uploads it, and the batch's labels and distances come back into
  /// the slot's pinned outputs, drained into the host arrays when the slot is reused.
  void for_each_batch(bool labels_change, const std::function<void(const Batch&, float*, double*)>& compute) {
    if (plan_.resident) {
      compute(Batch{0, n_, x_, weights_, device_labels_}, x_norms_, device_distances_);
      return;
    }
    const index_t batch_rows = plan_.batch_rows;
    const index_t batches = (n_ + batch_rows - 1) / batch_rows;
    index_t in_flight[2] = {-1, -1};  // batch held by each slot, or −1
    const auto drain = [&](int slot) {
      if (in_flight[slot] < 0) return;
      SHOAL_CUDA_CHECK(cudaEventSynchronize(done_[slot]));
      const index_t begin = in_flight[slot] * batch_rows, rows = std::min(batch_rows, n_ - begin);
      if (labels_change) std::memcpy(labels_.data() + begin, staged_labels_out_[slot].data(), rows * sizeof(std::int32_t));
      std::memcpy(distances_.data() + begin, staged_distances_[slot].data(), rows * sizeof(double));
      in_flight[slot] = -1;
    };
    for (index_t b = 0; b < batches; ++b) {
      const int slot = static_cast<int>(b % 2);
      drain(slot);
      const index_t begin = b * batch_rows, rows = std::min(batch_rows, n_ - begin);
      float* x = x_ + slot * batch_rows * d_;
      float* w = weights_ != nullptr ? weights_ + slot * batch_rows : nullptr;
      std::int32_t* labels = device_labels_ + slot * batch_rows;
      // Stage on the host (pageable → pinned), then upload on the copy stream.
      for (index_t r = 0; r < rows; ++r) std::copy_n(X_.row(begin + r), d_, staged_x_[slot].data() + r * d_);
      std::memcpy(staged_labels_in_[slot].data(), labels_.data() + begin, rows * sizeof(std::int32_t));
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(x, staged_x_[slot].data(), rows * d_ * sizeof(float), cudaMemcpyHostToDevice,
                                       copy_stream_));
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(labels, staged_labels_in_[slot].data(), rows * sizeof(std::int32_t),
                                       cudaMemcpyHostToDevice, copy_stream_));
      if (w != nullptr) {
        std::copy_n(host_weights_.data() + begin, rows, staged_weights_[slot].data());
        SHOAL_CUDA_CHECK(cudaMemcpyAsync(w, staged_weights_[slot].data(), rows * sizeof(float), cudaMemcpyHostToDevice,
                                         copy_stream_));
      }
      SHOAL_CUDA_CHECK(cudaEventRecord(copied_[slot], copy_stream_));
      SHOAL_CUDA_CHECK(cudaStreamWaitEvent(stream_, copied_[slot], 0));
      compute(Batch{begin, rows, x, w, labels}, x_norms_, device_distances_);
      if (labels_change) {
        SHOAL_CUDA_CHECK(cudaMemcpyAsync(staged_labels_out_[slot].data(), labels, rows * sizeof(std::int32_t),
                                         cudaMemcpyDeviceToHost, stream_));
      }
      SHOAL_CUDA_CHECK(cudaMemcpyAsync(staged_distances_[slot].data(), device_distances_, rows * sizeof(double),
                                       cudaMemcpyDeviceToHost, stream_));
      // drain() waits for this event before the slot's buffers are written again.
      SHOAL_CUDA_CHECK(cudaEventRecord(done_[slot], stream_));
      in_flight[slot] = b;
    }
    drain(0);
    drain(1);
  }

  CudaResources& cuda_;
  DeviceScope scope_;
  cudaStream_t stream_;
  cudaStream_t copy_stream_ = nullptr;
  MatrixView<const float> X_;
  std::span<const float> host_weights_;
  index_t k_, n_, d_;
  DevicePlan plan_;
  GemmPrecision precision_ = first_precision();

  // Device memory, carved from the workspace.
  float* x_ = nullptr;
  float* weights_ = nullptr;
  std::int32_t* device_labels_ = nullptr;
  double* device_distances_ = nullptr;
  float* x_norms_ = nullptr;
  float* centroids_ = nullptr;
  float* c_norms_ = nullptr;
  double* sums_ = nullptr;
  double* cluster_weights_ = nullptr;
  float* tiles_[kTileBuffers] = {nullptr, nullptr};
  double* sum_partials_ = nullptr;
  double* inertia_ = nullptr;
  unsigned long long* counts_ = nullptr;  // changed labels, close calls
  kk::ClusterSumScratch scratch_;

  // Streaming: pinned staging per slot, and the events that order the two streams.
  PinnedBuffer<float> staged_x_[2];
  PinnedBuffer<float> staged_weights_[2];
  PinnedBuffer<std::int32_t> staged_labels_in_[2];
  PinnedBuffer<std::int32_t> staged_labels_out_[2];
  PinnedBuffer<double> staged_distances_[2];
  cudaEvent_t copied_[2] = {nullptr, nullptr};
  cudaEvent_t done_[2] = {nullptr, nullptr};

  // The scan stream and the events that hand tiles between it and the main stream.
  cudaStream_t scan_stream_ = nullptr;
  cudaEvent_t tile_ready_[kTileBuffers] = {nullptr, nullptr};
  cudaEvent_t tile_scanned_[kTileBuffers] = {nullptr, nullptr};
  cudaEvent_t scans_done_ = nullptr;

  // Host copies.
  std::vector<float> host_centroids_;
  std::vector<std::int32_t> labels_;
  std::vector<double> distances_;
  bool host_labels_current_ = true;
  bool host_distances_current_ = false;
};

}  // namespace

std::unique_ptr<LloydEngine> make_cuda_engine(const Context& ctx, MatrixView<const float> X,
                                              std::span<const float> weights, index_t k) {
  return std::make_unique<CudaLloyd>(ctx, X, weights, k);
}

void assign_nearest_cuda(const Context& ctx, MatrixView<const float> X, MatrixView<const float> C,
                         std::int32_t* labels) {
  CudaLloyd engine(ctx, X, {}, C.rows());
  engine.reset_labels();
  AssignOutput out;
  engine.assign(C, false, out);
  const std::span<const std::int32_t> result = engine.labels();
  std::copy(result.begin(), result.end(), labels);
}

}  // namespace shoal::kmeans::detail
