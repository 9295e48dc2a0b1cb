#include "cli/common.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "shoal/io.hpp"

namespace shoal::cli {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Rewrites one line on stderr, at most ten times a second.
class ProgressLine {
 public:
  void operator()(std::string_view stage, double fraction) {
    const double now = now_seconds();
    if (fraction < 1.0 && now - last_ < 0.1) return;
    last_ = now;
    std::fprintf(stderr, "\r%-12.*s %5.1f%%", static_cast<int>(stage.size()), stage.data(), 100.0 * fraction);
    if (fraction >= 1.0) std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }

 private:
  double last_ = 0.0;
};

}  // namespace

void add_context_options(CLI::App& command, CommonOptions& options) {
  command.add_option("--device", options.device, "Where to run: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  command.add_option("--threads", options.threads, "CPU threads (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--seed", options.seed, "Random seed (default 0)")->check(CLI::NonNegativeNumber);
  command.add_flag("--quiet", options.quiet, "No progress line on stderr");
}

void add_common_options(CLI::App& command, CommonOptions& options) {
  command.add_option("INPUT", options.input, "Data: .npy, .fvecs, .csv/.tsv/.txt/.data (.gz)")->required();
  command.add_option("--labels", options.labels, "Write cluster labels here (.npy, .csv, .txt)")->required();
  command.add_option("--report", options.report, "Write a JSON report here");
  add_context_options(command, options);
}

Context make_context(const CommonOptions& options) {
  Context ctx(parse_backend(options.device));
  ctx.set_threads(options.threads);
  ctx.set_seed(options.seed.value_or(0));
  if (!options.quiet && ::isatty(STDERR_FILENO) == 1) ctx.set_progress_callback(ProgressLine{});
  return ctx;
}

nlohmann::json new_report(const char* algorithm, const CommonOptions& options, MatrixView<const float> X) {
  nlohmann::json report;
  report["algorithm"] = algorithm;
  report["input"] = options.input;
  report["n"] = X.rows();
  report["d"] = X.cols();
  return report;
}

void write_report(const std::filesystem::path& path, const nlohmann::json& report) {
  io::write_text(path, report.dump(2) + "\n");
}


}  // namespace shoal::cli
