// `shoal`: the batch command line. Exit codes: 0 ok, 2 bad input or arguments, 3 out of
// memory or device failure, 1 internal error; failures print one line on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <new>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "shoal/error.hpp"
#include "shoal/system.hpp"

namespace {

int fail(shoal::cli::ExitCode code, const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "shoal: %s\n", line.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace shoal::cli;
  CLI::App app("shoal: GPU-accelerated clustering (k-means, HDBSCAN, k-medoids, optimal transport)", "shoal");
  app.set_version_flag("--version", "shoal " + shoal::version());
  app.require_subcommand(1);
  add_data_commands(app);
  add_kmeans_commands(app);
  add_hdbscan_command(app);
  // CLI11 reports a mistyped command as a missing one; name it instead.
  const auto is_command = [&](const char* word) {
    const auto commands = app.get_subcommands([&](CLI::App* command) { return command->check_name(word); });
    return !commands.empty();
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    return fail(kBadInput, std::string("error: unknown command '") + argv[1] + "' (see shoal --help)");
  }
  try {
    app.parse(argc, argv);
    return kOk;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kBadInput, std::string("error: ") + e.what() + " (see shoal --help)");
  } catch (const shoal::InvalidArgument& e) {
    return fail(kBadInput, std::string("error: ") + e.what());
  } catch (const shoal::IoError& e) {
    return fail(kBadInput, std::string("error: ") + e.what());
  } catch (const shoal::OutOfMemory& e) {
    return fail(kResourceError, std::string("out of memory: ") + e.what());
  } catch (const shoal::DeviceError& e) {
    return fail(kResourceError, std::string("device error: ") + e.what());
  } catch (const std::bad_alloc&) {
    return fail(kResourceError, "out of memory: host allocation failed");
  } catch (const std::exception& e) {
    return fail(kInternalError, std::string("internal error: ") + e.what());
  }
}
