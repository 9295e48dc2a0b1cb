// shoal kmeans and shoal demo.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "shoal/datasets.hpp"
#include "shoal/io.hpp"
#include "shoal/kmeans.hpp"
#include "shoal/metrics.hpp"
#include "shoal/system.hpp"

namespace shoal::cli {
namespace {

struct KMeansOptions {
  CommonOptions common;
  index_t k = 0;
  std::string init = "kmeans++";
  int n_init = 1;
  int max_iter = 300;
  double tol = 1e-4;
  std::string metric = "l2";
  std::string weights;
  std::string centroids;
};

/// "cpu (N threads)" or the CUDA device's name.
std::string device_name(const Context& ctx, Backend backend) {
  if (backend == Backend::Cuda) return cuda_status().devices.at(static_cast<std::size_t>(ctx.device())).name;
  return "cpu (" + std::to_string(ctx.threads()) + " threads)";
}

kmeans::Init parse_init(const std::string& name) {
  if (name == "kmeans++") return kmeans::Init::KMeansPlusPlus;
  if (name == "kmeans-par") return kmeans::Init::KMeansParallel;
  if (name == "random") return kmeans::Init::Random;
  if (!std::filesystem::exists(name)) {
    throw InvalidArgument("--init '" + name + "' is neither kmeans++, kmeans-par, random nor an existing file");
  }
  return kmeans::Init::Given;  // a file of initial centroids
}

void run_kmeans(const KMeansOptions& options) {
  Stopwatch clock;
  const Context ctx = make_context(options.common);
  const Matrix<float> X = io::read_matrix(options.common.input);
  Matrix<float> weights;
  if (!options.weights.empty()) {
    weights = io::read_matrix(options.weights);
    if (weights.cols() != 1 || weights.rows() != X.rows()) {
      throw InvalidArgument("the weights in '" + options.weights + "' are " + std::to_string(weights.rows()) + " x " +
                            std::to_string(weights.cols()) + ", expected one per point (" + std::to_string(X.rows()) + ")");
    }
  }
  kmeans::Params params;
  params.k = options.k;
  params.init = parse_init(options.init);
  Matrix<float> initial;
  if (params.init == kmeans::Init::Given) {
    initial = io::read_matrix(options.init);
    params.initial_centroids = initial;
  }
  params.n_init = options.n_init;
  params.max_iter = options.max_iter;
  params.tol = options.tol;
  params.metric = parse_metric(options.metric);
  params.seed = options.common.seed;
  const double load_seconds = clock.lap();

  const kmeans::Result result =
      kmeans::fit(ctx, X, params, std::span<const float>(weights.data(), static_cast<std::size_t>(weights.rows())));
  clock.lap();

  io::write_labels(options.common.labels, std::span<const std::int32_t>(result.labels));
  if (!options.centroids.empty()) io::write_matrix(options.centroids, result.centroids);
  const double write_seconds = clock.lap();

  if (!options.common.report.empty()) {
    nlohmann::json report = new_report("kmeans", options.common, X);
    report["k"] = params.k;
    report["init"] = std::string(kmeans::to_string(params.init));
    report["n_init"] = params.n_init;
    report["metric"] = std::string(to_string(params.metric));
    report["seed"] = params.seed.value_or(ctx.seed());
    report["backend"] = std::string(to_string(result.backend));
    report["device"] = device_name(ctx, result.backend);
    report["n_iter"] = result.n_iter;
    report["converged"] = result.converged;
    report["inertia"] = result.inertia;
    report["best_run"] = result.best_run;
    report["seconds"] = {{"load", load_seconds},        {"setup", result.setup_seconds},
                         {"init", result.init_seconds}, {"iterations", result.lloyd_seconds},
                         {"write", write_seconds},      {"total", clock.seconds()}};
    nlohmann::json iterations = nlohmann::json::array();
    for (const kmeans::IterationStats& it : result.iterations) {
      iterations.push_back({{"inertia", it.inertia}, {"center_shift", it.center_shift},
                            {"labels_changed", it.labels_changed}, {"seconds", it.seconds}});
    }
    report["iterations"] = iterations;
    write_report(options.common.report, report);
  }
}

struct DemoOptions {
  CommonOptions common;
};

/// k-means on built-in Gaussian blobs, scored against the blobs.
void run_demo(const DemoOptions& options) {
  const datasets::BlobsParams data{.n = 200'000, .d = 32, .centers = 16, .std = 6.0, .seed = 7};
  const Context ctx = make_context(options.common);
  Stopwatch clock;
  const datasets::Blobs blobs = datasets::make_blobs(data);
  const double generate_seconds = clock.lap();
  kmeans::Params params;
  params.k = data.centers;
  params.seed = options.common.seed;
  const kmeans::Result result = kmeans::fit(ctx, blobs.X, params);
  const double ari = metrics::adjusted_rand_index(blobs.labels, result.labels);
  const double nmi = metrics::normalized_mutual_info(blobs.labels, result.labels);

  std::vector<index_t> sizes(params.k, 0);
  for (const std::int32_t label : result.labels) ++sizes[label];
  std::printf("shoal demo: k-means on %lld Gaussian-blob points in %lld dimensions (%lld blobs, std %.1f)\n\n",
              static_cast<long long>(data.n), static_cast<long long>(data.d), static_cast<long long>(data.centers),
              data.std);
  std::printf("  data        generated in %.2f s\n", generate_seconds);
  std::printf("  backend     %s\n", device_name(ctx, result.backend).c_str());
  std::printf("  init        k-means++ (seed %llu)\n", static_cast<unsigned long long>(params.seed.value_or(ctx.seed())));
  std::printf("  iterations  %d (%s)\n", result.n_iter, result.converged ? "converged" : "max_iter reached");
  std::printf("  time        %.3f s init + %.3f s Lloyd\n", result.init_seconds, result.lloyd_seconds);
  std::printf("  inertia     %.6g\n", result.inertia);
  std::printf("  ARI         %.4f against the true blobs (1 = identical)\n", ari);
  std::printf("  NMI         %.4f\n", nmi);
  std::printf("  sizes      ");
  for (const index_t size : sizes) std::printf(" %lld", static_cast<long long>(size));
  std::printf("\n");
}

}  // namespace

void add_kmeans_commands(CLI::App& app) {
  auto* command = app.add_subcommand("kmeans", "k-means (Lloyd) clustering");
  auto options = std::make_shared<KMeansOptions>();
  add_common_options(*command, options->common);
  command->add_option("--k", options->k, "Number of clusters")->required();
  command->add_option("--init", options->init, "kmeans++, kmeans-par, random, or a .npy/.csv file of k x d centroids")
      ->capture_default_str();
  command->add_option("--n-init", options->n_init, "Runs from different seeds; the lowest inertia wins")
      ->capture_default_str();
  command->add_option("--max-iter", options->max_iter, "Lloyd iterations at most")->capture_default_str();
  command->add_option("--tol", options->tol, "Relative centre-shift tolerance (scikit-learn's)")->capture_default_str();
  command->add_option("--metric", options->metric, "l2 or cosine (spherical k-means)")
      ->check(CLI::IsMember({"l2", "cosine"}))
      ->capture_default_str();
  command->add_option("--weights", options->weights, "Sample weights: one value per point");
  command->add_option("--centroids", options->centroids, "Write the centroids here");
  command->callback([options] { run_kmeans(*options); });

  auto* demo = app.add_subcommand("demo", "Cluster a built-in data set and print a summary");
  auto demo_options = std::make_shared<DemoOptions>();
  add_context_options(*demo, demo_options->common);
  demo->callback([demo_options] { run_demo(*demo_options); });
}

}  // namespace shoal::cli
