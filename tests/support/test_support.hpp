#pragma once
// Helpers shared by the test executables: scratch directories, the labelled benchmark data,
// running the `shoal` command, and device detection for GPU tests.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "shoal/matrix.hpp"

namespace shoal::test {

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& bytes);
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

/// A .npy file of format `version` (1, 2 or 3) with the given header dict and raw data.
[[nodiscard]] std::string npy_with_dict(std::string dict, const std::string& data, int version = 1);

/// A .npy file with the given descr, shape text (e.g. "(2, 3)") and raw data.
[[nodiscard]] std::string npy(const std::string& descr, const std::string& shape, const std::string& data,
                              const std::string& fortran = "False", int version = 1);

/// The bytes of `values` as stored in memory.
template <class T>
[[nodiscard]] std::string raw(std::initializer_list<T> values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), std::data(values), bytes.size());
  return bytes;
}

/// The clustering benchmark suite (../shared/data/clustering-benchmarks, or the
/// SHOAL_TEST_DATA_DIR environment variable), if present.
[[nodiscard]] std::optional<std::filesystem::path> benchmark_data_dir();

struct LabelledData {
  Matrix<float> X;
  std::vector<std::int32_t> labels;  // labels0: 0 = noise
};

/// Loads BATTERY/NAME.data.gz and NAME.labels0.gz from the suite.
[[nodiscard]] LabelledData load_benchmark(const std::string& battery, const std::string& name);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs the built `shoal` command with `arguments` (already shell-quoted where needed).
[[nodiscard]] CommandResult run_shoal(const std::string& arguments);

/// A command line that must be refused: `{dir}` in `arguments` stands for a scratch directory.
struct BadCommand {
  const char* name;
  const char* arguments;
  const char* message;  ///< part of the expected one-line error
};
std::ostream& operator<<(std::ostream& out, const BadCommand& command);

/// Runs `shoal PREFIX ARGUMENTS` with {dir} replaced by `dir`, and expects exit code 2 and one
/// line on stderr holding the command's message. Returns the result for further checks.
CommandResult expect_refused(const TempDir& dir, const std::string& prefix, const BadCommand& command);

/// True when the CUDA backend is compiled in and a device is present.
[[nodiscard]] bool cuda_device_available();

}  // namespace shoal::test

#define SHOAL_SKIP_WITHOUT_BENCHMARK_DATA()                                               \
  do {                                                                                     \
    if (!::shoal::test::benchmark_data_dir()) GTEST_SKIP() << "benchmark data not present"; \
  } while (false)

#define SHOAL_SKIP_WITHOUT_CUDA_DEVICE()                                                 \
  do {                                                                                    \
    if (!::shoal::test::cuda_device_available()) GTEST_SKIP() << "no CUDA device";        \
  } while (false)
