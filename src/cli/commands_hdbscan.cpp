// shoal hdbscan.
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "shoal/hdbscan.hpp"
#include "shoal/io.hpp"

namespace shoal::cli {
namespace {

struct HdbscanOptions {
  CommonOptions common;
  hdbscan::Params params;
  std::optional<index_t> min_samples;  // unset: min-cluster-size
  std::string method = "eom";
  std::string knn_index = "auto";
  std::string metric = "l2";
  std::string probabilities;
  std::string outlier_scores;
  std::string tree;
  std::string mst;
};

void write_tree(const std::filesystem::path& path, const hdbscan::CondensedTree& tree) {
  std::string text = "parent,child,lambda,size\n";
  char line[128];
  for (std::size_t r = 0; r < tree.parent.size(); ++r) {
    std::snprintf(line, sizeof line, "%lld,%lld,%.17g,%lld\n", static_cast<long long>(tree.parent[r]),
                  static_cast<long long>(tree.child[r]), tree.lambda[r], static_cast<long long>(tree.size[r]));
    text += line;
  }
  io::write_text(path, text);
}

void write_mst(const std::filesystem::path& path, const hdbscan::SpanningTree& tree) {
  std::string text = "u,v,weight\n";
  char line[96];
  for (std::size_t e = 0; e < tree.u.size(); ++e) {
    std::snprintf(line, sizeof line, "%d,%d,%.17g\n", tree.u[e], tree.v[e], tree.weight[e]);
    text += line;
  }
  io::write_text(path, text);
}

void run_hdbscan(HdbscanOptions& options) {
  Stopwatch clock;
  const Context ctx = make_context(options.common);
  const Matrix<float> X = io::read_matrix(options.common.input);
  const double load_seconds = clock.lap();
  hdbscan::Params& params = options.params;
  params.min_samples = options.min_samples;
  params.method = options.method == "leaf" ? hdbscan::Selection::Leaf : hdbscan::Selection::Eom;
  params.knn.index = neighbors::parse_index(options.knn_index);
  params.metric = parse_metric(options.metric);
  const hdbscan::Result result = hdbscan::fit(ctx, X, params);
  clock.lap();

  io::write_labels(options.common.labels, std::span<const std::int32_t>(result.labels));
  const auto write_vector = [](const std::string& path, const std::vector<double>& values) {
    if (path.empty()) return;
    Matrix<float> column(static_cast<index_t>(values.size()), 1);
    for (std::size_t i = 0; i < values.size(); ++i) column.data()[i] = static_cast<float>(values[i]);
    io::write_matrix(path, column);
  };
  write_vector(options.probabilities, result.probabilities);
  write_vector(options.outlier_scores, result.outlier_scores);
  if (!options.tree.empty()) write_tree(options.tree, result.condensed_tree);
  if (!options.mst.empty()) write_mst(options.mst, result.spanning_tree);
  const double write_seconds = clock.lap();

  if (!options.common.report.empty()) {
    index_t noise = 0;
    for (const std::int32_t label : result.labels) noise += label < 0;
    nlohmann::json report = new_report("hdbscan", options.common, X);
    report["min_cluster_size"] = params.min_cluster_size;
    report["min_samples"] = params.min_samples.value_or(params.min_cluster_size);
    report["method"] = std::string(hdbscan::to_string(params.method));
    report["metric"] = std::string(to_string(params.metric));
    report["approximate"] = params.approximate;
    report["backend"] = std::string(to_string(result.backend));
    report["clusters"] = result.clusters;
    report["noise_fraction"] = static_cast<double>(noise) / static_cast<double>(X.rows());
    report["knn_index"] = std::string(neighbors::to_string(result.knn_index));
    report["neighbors"] = result.neighbors;
    report["exact_searches"] = result.exact_searches;
    report["pair_sweeps"] = result.pair_sweeps;
    report["seconds"] = {{"load", load_seconds}, {"knn", result.seconds.knn}, {"core", result.seconds.core},
                         {"mst", result.seconds.mst}, {"condense", result.seconds.condense},
                         {"select", result.seconds.select}, {"write", write_seconds}, {"total", clock.seconds()}};
    write_report(options.common.report, report);
  }
}

}  // namespace

void add_hdbscan_command(CLI::App& app) {
  auto* command = app.add_subcommand("hdbscan", "HDBSCAN density clustering over a kNN graph");
  auto options = std::make_shared<HdbscanOptions>();
  hdbscan::Params& params = options->params;
  add_common_options(*command, options->common);
  command->add_option("--min-cluster-size", params.min_cluster_size, "Smallest cluster")->required();
  command->add_option("--min-samples", options->min_samples, "Neighbours of the core distance (default: min-cluster-size)");
  command->add_option("--epsilon", params.cluster_selection_epsilon, "Merge clusters split below this distance")
      ->capture_default_str();
  command->add_option("--method", options->method, "eom or leaf")->check(CLI::IsMember({"eom", "leaf"}))->capture_default_str();
  command->add_flag("--allow-single-cluster", params.allow_single_cluster, "Allow the root as the only cluster");
  command->add_option("--max-cluster-size", params.max_cluster_size, "Largest cluster EOM may select (0: no limit)")
      ->capture_default_str();
  command->add_option("--alpha", params.alpha, "Distance scaling of mutual reachability")->capture_default_str();
  command->add_option("--knn-index", options->knn_index, "auto, kdtree, flat, hnsw or ivf")
      ->check(CLI::IsMember({"auto", "kdtree", "flat", "hnsw", "ivf"}))
      ->capture_default_str();
  command->add_option("--neighbors", params.neighbors, "Neighbours per point kept for the MST (0: max(min-samples, 10))")
      ->capture_default_str();
  command->add_flag("--approximate", params.approximate, "MST of the kNN graph, components joined (faster, inexact)");
  command->add_option("--metric", options->metric, "l2 or cosine")->check(CLI::IsMember({"l2", "cosine"}))->capture_default_str();
  command->add_option("--probabilities", options->probabilities, "Write membership probabilities here");
  command->add_option("--outlier-scores", options->outlier_scores, "Write GLOSH outlier scores here");
  command->add_option("--tree", options->tree, "Write the condensed tree here (CSV: parent,child,lambda,size)");
  command->add_option("--mst", options->mst, "Write the spanning tree here (CSV: u,v,weight)");
  command->callback([options] { run_hdbscan(*options); });
}

}  // namespace shoal::cli
