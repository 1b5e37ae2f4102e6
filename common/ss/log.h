// The logger: the one mutable global of the project (a verbosity level).
// Lines go to stderr, prefixed with the level; progress output uses stdout.
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <cstdio>

namespace ss::log {

enum class Level : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

inline std::atomic<int>& level_ref() {
  static std::atomic<int> level{static_cast<int>(Level::kInfo)};
  return level;
}
inline void set_level(Level l) { level_ref().store(static_cast<int>(l)); }
inline bool enabled(Level l) { return static_cast<int>(l) <= level_ref().load(); }

template <typename... Args>
void write(Level l, const char* tag, fmt::format_string<Args...> f, Args&&... args) {
  if (!enabled(l)) return;
  fmt::print(stderr, "[{}] {}\n", tag, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, "error", f, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarn, "warn", f, std::forward<Args>(args)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, "info", f, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kDebug, "debug", f, std::forward<Args>(args)...);
}

}  // namespace ss::log
