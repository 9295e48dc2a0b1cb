#pragma once
// Subcommand registration: each add_* function adds its subcommands to the app, each with a
// callback that does the work and throws shoal::Error on failure.

#include <CLI/CLI.hpp>

namespace shoal::cli {

/// info, describe, generate, evaluate.
void add_data_commands(CLI::App& app);

/// kmeans, demo.
void add_kmeans_commands(CLI::App& app);

/// hdbscan.
void add_hdbscan_command(CLI::App& app);

}  // namespace shoal::cli
