// Number checks for CLI11 options with one short message each (CLI11's PositiveNumber prints
// the whole range of a double, 309 digits, when it rejects a value). Invariant: a rejected
// value gives one line "OPTION: VALUE is not ...".
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <string>

namespace ss::runner {

namespace detail {
// A validator accepting numbers for which `ok(value)` holds; `what` completes "is not ...".
template <typename Ok>
CLI::Validator number_check(const char* name, const char* what, Ok ok) {
  return CLI::Validator(
      [what, ok](std::string& text) -> std::string {
        std::size_t used = 0;
        double value = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || !std::isfinite(value)) return text + " is not a number";
        return ok(value) ? std::string() : text + " is not " + what;
      },
      name);
}
}  // namespace detail

inline const CLI::Validator kPositive =
    detail::number_check("POSITIVE", "positive", [](double v) { return v > 0; });
inline const CLI::Validator kNonNegative =
    detail::number_check("NONNEGATIVE", ">= 0", [](double v) { return v >= 0; });

}  // namespace ss::runner
