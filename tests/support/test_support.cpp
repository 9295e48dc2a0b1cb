#include "support/test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "shoal/io.hpp"
#include "shoal/system.hpp"

namespace shoal::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "shoal-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string npy_with_dict(std::string dict, const std::string& data, int version) {
  // Magic, version, a 2-byte (version 1) or 4-byte header length; the data 64-byte aligned.
  const std::size_t length_bytes = version == 1 ? 2 : 4;
  while ((8 + length_bytes + dict.size() + 1) % 64 != 0) dict.push_back(' ');
  dict.push_back('\n');
  std::string file("\x93NUMPY", 6);
  file.push_back(static_cast<char>(version));
  file.push_back('\0');
  for (std::size_t b = 0; b < length_bytes; ++b) file.push_back(static_cast<char>((dict.size() >> (8 * b)) & 0xff));
  return file + dict + data;
}

std::string npy(const std::string& descr, const std::string& shape, const std::string& data,
                const std::string& fortran, int version) {
  return npy_with_dict("{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }", data,
                       version);
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::optional<std::filesystem::path> benchmark_data_dir() {
  const char* from_environment = std::getenv("SHOAL_TEST_DATA_DIR");
  const std::filesystem::path dir = from_environment != nullptr ? from_environment : SHOAL_TEST_DATA_DIR;
  std::error_code ec;
  if (std::filesystem::is_directory(dir / "fcps", ec)) return dir;
  return std::nullopt;
}

LabelledData load_benchmark(const std::string& battery, const std::string& name) {
  const std::filesystem::path dir = benchmark_data_dir().value() / battery;
  return {io::read_matrix(dir / (name + ".data.gz")), io::read_labels(dir / (name + ".labels0.gz"))};
}

CommandResult run_shoal(const std::string& arguments) {
  TempDir scratch;
  const std::filesystem::path out = scratch / "stdout", err = scratch / "stderr";
  const std::string command = std::string("'") + SHOAL_CLI_PATH + "' " + arguments + " >'" + out.string() +
                              "' 2>'" + err.string() + "' </dev/null";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

std::ostream& operator<<(std::ostream& out, const BadCommand& command) { return out << command.name; }

CommandResult expect_refused(const TempDir& dir, const std::string& prefix, const BadCommand& command) {
  std::string arguments = prefix + command.arguments;
  for (std::size_t at; (at = arguments.find("{dir}")) != std::string::npos;) arguments.replace(at, 5, dir.path().string());
  CommandResult result = run_shoal(arguments);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(command.message), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  return result;
}

bool cuda_device_available() { return !cuda_status().devices.empty(); }

}  // namespace shoal::test
