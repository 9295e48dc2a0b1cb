#pragma once
// What the subcommands of `shoal` share: exit codes, the options every algorithm takes, the
// progress line, and the JSON report.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/stopwatch.hpp"
#include "shoal/context.hpp"
#include "shoal/matrix.hpp"

namespace shoal::cli {

enum ExitCode : int { kOk = 0, kInternalError = 1, kBadInput = 2, kResourceError = 3 };

/// Options of every algorithm subcommand: `shoal ALGO INPUT [options] --labels OUT.npy`.
struct CommonOptions {
  std::string input;
  std::string labels;
  std::string report;
  std::string device = "auto";
  int threads = 0;
  std::optional<std::uint64_t> seed;
  bool quiet = false;
};

/// Adds INPUT, --labels (required), --report, --device, --threads, --seed and --quiet.
void add_common_options(CLI::App& command, CommonOptions& options);

/// Adds --device, --threads, --seed and --quiet (for commands without INPUT/--labels).
void add_context_options(CLI::App& command, CommonOptions& options);

/// The context the options ask for, with a progress line on stderr when stderr is a terminal
/// and --quiet is not given.
[[nodiscard]] Context make_context(const CommonOptions& options);

/// A report's first fields: the algorithm, the input file and its shape.
[[nodiscard]] nlohmann::json new_report(const char* algorithm, const CommonOptions& options, MatrixView<const float> X);

/// Writes `report` as indented JSON, atomically.
void write_report(const std::filesystem::path& path, const nlohmann::json& report);

using shoal::detail::Stopwatch;  // per-phase timings

}  // namespace shoal::cli
