#pragma once
// Wall-clock timing of phases, for the seconds that results and reports carry.

#include <chrono>

namespace shoal::detail {

/// Seconds since construction, and laps: seconds since the previous lap.
class Stopwatch {
 public:
  [[nodiscard]] double seconds() const { return since(start_); }
  /// Seconds since the last lap (or construction), and starts a new lap.
  double lap() {
    const Clock::time_point now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - lap_start_).count();
    lap_start_ = now;
    return elapsed;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

  Clock::time_point start_ = Clock::now();
  Clock::time_point lap_start_ = start_;
};

}  // namespace shoal::detail
