// Delimited text, plain or gzip-compressed (zlib reads both through one interface).
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "core/check.hpp"
#include "io/formats.hpp"

namespace shoal::io::detail {
namespace {

/// Lines of a file, read in large chunks; a line is valid until the next call.
class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      fail(path, std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
    }
    if (std::filesystem::file_size(path, ec) == 0) fail(path, "file is empty");
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) fail(path, std::string("cannot open: ") + std::strerror(errno));
    gzbuffer(file_, 1 << 18);
    buffer_.resize(1 << 20);
  }
  ~LineReader() { gzclose(file_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next line without its end-of-line characters; false at the end of the file.
  bool next(std::string_view& line) {
    for (;;) {
      const char* start = buffer_.data() + begin_;
      const void* newline = std::memchr(start, '\n', end_ - begin_);
      if (newline != nullptr || (eof_ && begin_ < end_)) {
        const std::size_t length = newline != nullptr
                                       ? static_cast<std::size_t>(static_cast<const char*>(newline) - start)
                                       : end_ - begin_;
        begin_ += length + (newline != nullptr ? 1 : 0);
        line = std::string_view(start, length);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        ++line_number_;
        return true;
      }
      if (eof_) return false;
      refill();
    }
  }

  [[nodiscard]] std::int64_t line_number() const { return line_number_; }
  [[nodiscard]] bool compressed() const { return gzdirect(file_) == 0; }

 private:
  void refill() {
    // Keep the partial line, and grow the buffer when a single line fills it.
    const std::size_t kept = end_ - begin_;
    std::memmove(buffer_.data(), buffer_.data() + begin_, kept);
    begin_ = 0;
    end_ = kept;
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const std::size_t room = std::min<std::size_t>(buffer_.size() - end_, 1u << 30);
    const int got = gzread(file_, buffer_.data() + end_, static_cast<unsigned>(room));
    int status = Z_OK;
    const char* message = gzerror(file_, &status);
    if (got < 0 || (status != Z_OK && status != Z_STREAM_END)) {
      fail(path_, concat("corrupt or truncated compressed data after line ", line_number_, " (",
                         decoded_bytes_, " bytes decoded): ", message));
    }
    if (got == 0) eof_ = true;
    end_ += static_cast<std::size_t>(got);
    decoded_bytes_ += static_cast<std::size_t>(got);
  }

  const std::filesystem::path& path_;
  gzFile file_ = nullptr;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0, decoded_bytes_ = 0;
  std::int64_t line_number_ = 0;
  bool eof_ = false;
};

constexpr std::string_view kBlanks = " \t";

std::string_view trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  const std::size_t last = text.find_last_not_of(kBlanks);
  return text.substr(first, last - first + 1);
}

/// At most 40 characters of `field`, non-printable bytes shown as '?', for messages.
std::string printable(std::string_view field) {
  std::string shown(field.substr(0, 40));
  for (char& c : shown) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  }
  return shown;
}

/// Parses a whole field as a number (a leading '+' allowed); false if it is not one.
bool parse_number(std::string_view field, double& value) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  if (field.empty()) return false;
  const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  return ec == std::errc() && ptr == field.data() + field.size();
}

/// Splits `line` at `delimiter` (fields trimmed, double quotes around a field dropped), or at
/// runs of blanks when `delimiter` is ' '.
void split(std::string_view line, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  if (delimiter == ' ') {
    while (!line.empty()) {
      const std::size_t first = line.find_first_not_of(kBlanks);
      if (first == std::string_view::npos) break;
      line.remove_prefix(first);
      const std::size_t end = std::min(line.find_first_of(kBlanks), line.size());
      fields.push_back(line.substr(0, end));
      line.remove_prefix(end);
    }
    return;
  }
  for (;;) {
    const std::size_t end = line.find(delimiter);
    std::string_view field = trim(line.substr(0, end));
    // A field in double quotes, as spreadsheets write them: the quotes go.
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
      field = trim(field.substr(1, field.size() - 2));
    }
    fields.push_back(field);
    if (end == std::string_view::npos) break;
    line.remove_prefix(end + 1);
  }
}

char detect_delimiter(std::string_view line) {
  for (const char candidate : {',', ';', '\t'}) {
    if (line.find(candidate) != std::string_view::npos) return candidate == '\t' ? ' ' : candidate;
  }
  return ' ';
}

struct TextTable {
  std::vector<float> values;  // row after row
  std::vector<double> exact;  // the same values in double, when asked for (labels)
  index_t rows = 0;
  index_t cols = 0;
  bool header = false;
  bool compressed = false;
};

/// Reads a delimited table. Blank lines and lines starting with '#' are skipped, as is a UTF-8
/// byte-order mark; a first line with a field that is neither a number nor empty is the header.
TextTable read_table(const std::filesystem::path& path, bool keep_exact) {
  LineReader reader(path);
  TextTable table;
  table.compressed = reader.compressed();
  std::vector<std::string_view> fields;
  char delimiter = 0;
  std::string_view line;
  while (reader.next(line)) {
    if (reader.line_number() == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    const std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') continue;
    if (delimiter == 0) delimiter = detect_delimiter(content);
    split(content, delimiter, fields);
    const bool first_line = table.cols == 0;
    if (first_line) {
      double ignored = 0.0;
      table.header = std::any_of(fields.begin(), fields.end(),
                                 [&](std::string_view field) { return !field.empty() && !parse_number(field, ignored); });
      table.cols = static_cast<index_t>(fields.size());
      if (table.header) continue;
    } else if (static_cast<index_t>(fields.size()) != table.cols) {
      fail(path, concat("line ", reader.line_number(), " has ", fields.size(), " fields, expected ",
                        table.cols, " as on the first line"));
    }
    for (std::size_t j = 0; j < fields.size(); ++j) {
      double value = 0.0;
      if (!parse_number(fields[j], value)) {
        fail(path, concat("line ", reader.line_number(), ", field ", j + 1, ": ",
                          fields[j].empty() ? std::string("empty field")
                                            : concat("'", printable(fields[j]), "' is not a number")));
      }
      table.values.push_back(static_cast<float>(value));
      if (keep_exact) table.exact.push_back(value);
    }
    ++table.rows;
  }
  if (table.rows == 0) fail(path, table.header ? "has a header but no data lines" : "holds no data");
  return table;
}

}  // namespace

Matrix<float> read_text_matrix(const std::filesystem::path& path, ReadInfo& info) {
  TextTable table = read_table(path, false);
  info.format = "text";
  info.dtype = DType::Float64;
  info.header = table.header;
  info.compressed = table.compressed;
  return Matrix<float>(table.rows, table.cols, std::move(table.values));
}

std::vector<std::int32_t> read_text_labels(const std::filesystem::path& path) {
  const TextTable table = read_table(path, true);
  if (table.cols != 1) fail(path, concat("labels need one value per line, found ", table.cols, " columns"));
  std::vector<std::int32_t> labels(table.exact.size());
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = checked_label(path, table.exact[i], i);
  return labels;
}

}  // namespace shoal::io::detail
