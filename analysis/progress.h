// Progress lines on stderr for long stages (multi-start fits, bootstrap): stage, done/total,
// elapsed and ETA. Invariant: thread-safe (workers call tick concurrently) and throttled to
// one line per 0.5 s plus the final line, so a 4,500-start fit does not flood the terminal.
#pragma once

#include <fmt/core.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>

namespace ss::analysis {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}

  // Reports that `done` of `total` units of `stage` are finished.
  void report(const std::string& stage, std::size_t done, std::size_t total) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (stage != stage_) {
      stage_ = stage;
      start_ = now;
      last_ = Clock::time_point{};
    }
    const bool final_line = done >= total;
    if (!final_line && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / done : 0.0;
    fmt::print(stderr, "[scalefit] {}: {}/{} ({:.0f}%), elapsed {:.1f} s, ETA {:.1f} s\n", stage,
               done, total, total ? 100.0 * done / total : 100.0, elapsed, eta);
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  std::mutex mutex_;
  std::string stage_;
  Clock::time_point start_{}, last_{};
};

}  // namespace ss::analysis
