#pragma once
// The two tiers of checks (as FAISS's FaissAssert.h and RAFT's RAFT_EXPECTS):
//   SHOAL_EXPECTS  — something a caller can cause; throws InvalidArgument with a message that
//                    names the offending value.
//   SHOAL_ASSERT   — an internal invariant; prints file, line and message, then aborts.

#include <sstream>
#include <string>

#include "shoal/error.hpp"

namespace shoal::detail {

/// Streams every argument into one string.
template <class... Args>
[[nodiscard]] std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

[[noreturn]] void assert_fail(const char* condition, const char* file, int line,
                              const std::string& message);

}  // namespace shoal::detail

#define SHOAL_EXPECTS(condition, ...)                                          \
  do {                                                                         \
    if (!(condition)) {                                                        \
      throw ::shoal::InvalidArgument(::shoal::detail::concat(__VA_ARGS__));   \
    }                                                                          \
  } while (false)

#define SHOAL_ASSERT(condition, ...)                                                   \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      ::shoal::detail::assert_fail(#condition, __FILE__, __LINE__,                     \
                                   ::shoal::detail::concat("" __VA_OPT__(, ) __VA_ARGS__)); \
    }                                                                                  \
  } while (false)
