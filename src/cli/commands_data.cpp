// Commands about data rather than algorithms: info, describe, generate, evaluate.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "shoal/datasets.hpp"
#include "shoal/io.hpp"
#include "shoal/metrics.hpp"
#include "shoal/system.hpp"

namespace shoal::cli {
namespace {

std::string mebibytes(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

std::string cuda_version(int version) {
  if (version == 0) return "none";
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

void print_info() {
  const BuildInfo build = build_info();
  std::printf("shoal %s (%s build)\n", build.version.c_str(), build.build_type.c_str());
  if (build.cuda) {
    std::printf("CUDA backend: compiled (toolkit %s, architectures %s)\n", build.cuda_toolkit.c_str(),
                build.cuda_architectures.c_str());
  } else {
    std::printf("CUDA backend: not compiled\n");
  }
  std::printf("BLAS: %s\nOpenMP: %d, %d CPU threads\nCPU kernels: %s\n", build.blas.c_str(), build.openmp,
              Context(Backend::Cpu).threads(), cpu_kernels().c_str());
  const CudaStatus& cuda = cuda_status();
  if (cuda.compiled) {
    std::printf("CUDA runtime %s, driver %s\n", cuda_version(cuda.runtime_version).c_str(),
                cuda_version(cuda.driver_version).c_str());
  }
  if (cuda.devices.empty()) std::printf("devices: %s\n", cuda.message.c_str());
  for (const DeviceProperties& device : cuda.devices) {
    std::printf("device %d: %s, compute %d.%d, %d SMs, %s total, %s free\n", device.id, device.name.c_str(),
                device.compute_major, device.compute_minor, device.multiprocessors,
                mebibytes(device.total_memory).c_str(), mebibytes(device.free_memory).c_str());
  }
}

void describe(const std::string& path) {
  io::ReadInfo info;
  const Matrix<float> X = io::read_matrix(path, {.non_finite = io::NonFinite::Keep}, &info);
  std::printf("file        %s\nformat      %s%s, %s\nshape       %lld x %lld\nnon-finite  %lld values\n",
              path.c_str(), info.format.c_str(), info.compressed ? " (gzip)" : "",
              io::to_string(info.dtype).c_str(), static_cast<long long>(X.rows()),
              static_cast<long long>(X.cols()), static_cast<long long>(info.non_finite_values));
  if (info.header) std::printf("header      yes (first line)\n");
  std::printf("%8s %15s %15s %15s\n", "column", "min", "mean", "max");
  for (index_t j = 0; j < X.cols(); ++j) {
    double low = std::numeric_limits<double>::infinity(), high = -low, sum = 0.0;
    index_t finite = 0;
    for (index_t i = 0; i < X.rows(); ++i) {
      const double v = X(i, j);
      if (!std::isfinite(v)) continue;
      low = std::min(low, v);
      high = std::max(high, v);
      sum += v;
      ++finite;
    }
    if (finite == 0) {
      std::printf("%8lld %15s %15s %15s\n", static_cast<long long>(j), "-", "-", "-");
    } else {
      std::printf("%8lld %15.6g %15.6g %15.6g\n", static_cast<long long>(j), low,
                  sum / static_cast<double>(finite), high);
    }
  }
}

struct GenerateOptions {
  datasets::BlobsParams blobs;
  std::string output;
  std::string labels;
};

struct EvaluateOptions {
  std::string labels;
  std::string truth;
  std::string data;
  CommonOptions context;
};

void evaluate(const EvaluateOptions& options) {
  const std::vector<std::int32_t> labels = io::read_labels(options.labels);
  const std::vector<std::int32_t> truth = io::read_labels(options.truth);
  nlohmann::json result;
  result["n"] = labels.size();
  result["ari"] = metrics::adjusted_rand_index(truth, labels);
  result["nmi"] = metrics::normalized_mutual_info(truth, labels);
  if (!options.data.empty()) {
    const Context ctx = make_context(options.context);
    const Matrix<float> X = io::read_matrix(options.data);
    result["silhouette"] = metrics::silhouette_score(ctx, X, labels, {.seed = ctx.seed()});
    result["davies_bouldin"] = metrics::davies_bouldin_score(X, labels);
    result["calinski_harabasz"] = metrics::calinski_harabasz_score(X, labels);
  }
  std::printf("%s\n", result.dump(2).c_str());
}

}  // namespace

void add_data_commands(CLI::App& app) {
  app.add_subcommand("info", "Build options, CUDA runtime and devices")->callback(print_info);

  auto* describe_command = app.add_subcommand("describe", "Shape, type and column statistics of a data file");
  auto describe_path = std::make_shared<std::string>();
  describe_command->add_option("INPUT", *describe_path, "Data file")->required();
  describe_command->callback([describe_path] { describe(*describe_path); });

  auto* generate = app.add_subcommand("generate", "Write a synthetic data set");
  generate->require_subcommand(1);
  auto* blobs = generate->add_subcommand("blobs", "Isotropic Gaussian blobs (same seed, same file on any machine)");
  auto generate_options = std::make_shared<GenerateOptions>();
  datasets::BlobsParams& params = generate_options->blobs;
  blobs->add_option("--n", params.n, "Points")->capture_default_str();
  blobs->add_option("--d", params.d, "Dimensions")->capture_default_str();
  blobs->add_option("--centers", params.centers, "Blobs")->capture_default_str();
  blobs->add_option("--std", params.std, "Standard deviation of each blob")->capture_default_str();
  blobs->add_option("--center-low", params.center_low, "Centres are uniform in [center-low, center-high)^d")
      ->capture_default_str();
  blobs->add_option("--center-high", params.center_high, "Upper end of the centres' box")->capture_default_str();
  blobs->add_option("--seed", params.seed, "Random seed")->check(CLI::NonNegativeNumber)->capture_default_str();
  blobs->add_option("-o,--output", generate_options->output, "Write the points here (.npy, .csv, .tsv, .txt)")
      ->required();
  blobs->add_option("--labels", generate_options->labels, "Write each point's blob here");
  blobs->callback([generate_options] {
    const datasets::Blobs data = datasets::make_blobs(generate_options->blobs);
    io::write_matrix(generate_options->output, data.X);
    if (!generate_options->labels.empty()) io::write_labels(generate_options->labels, std::span<const std::int32_t>(data.labels));
  });

  auto* evaluate_command = app.add_subcommand("evaluate", "Score labels against the truth (JSON on stdout)");
  auto evaluate_options = std::make_shared<EvaluateOptions>();
  evaluate_command->add_option("--labels", evaluate_options->labels, "Predicted labels")->required();
  evaluate_command->add_option("--truth", evaluate_options->truth, "Reference labels")->required();
  evaluate_command->add_option("--data", evaluate_options->data,
                               "The clustered data: adds silhouette, Davies-Bouldin, Calinski-Harabasz");
  add_context_options(*evaluate_command, evaluate_options->context);
  evaluate_command->callback([evaluate_options] { evaluate(*evaluate_options); });
}

}  // namespace shoal::cli
