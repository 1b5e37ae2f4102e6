// Number checks for CLI11 options with one short message each, shared by scalesweep (runner/)
// and scalefit (analysis/); include it only from targets that link CLI11. (CLI11's
// PositiveNumber prints the whole range of a double, 309 digits, when it rejects a value.)
// Invariant: a rejected value gives one line "OPTION: VALUE is not ..." (parse_error_line).
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <string>
#include <utility>

namespace ss::cli {

// A validator named `name` accepting the finite numbers for which `ok(value)` holds. A rejected
// value's message is "VALUE is not " + `what` (a number failing `ok`) or + `not_number` (text
// that is not a finite number), then `hint` (e.g. "; write e.g. ...").
inline CLI::Validator number_check(std::string name, std::string what, bool (*ok)(double),
                                   std::string not_number = "a number", std::string hint = "") {
  return CLI::Validator(
      [what = std::move(what), ok, not_number = std::move(not_number),
       hint = std::move(hint)](std::string& text) -> std::string {
        std::size_t used = 0;
        double value = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || !std::isfinite(value))
          return text + " is not " + not_number + hint;
        return ok(value) ? std::string() : text + " is not " + what + hint;
      },
      std::move(name));
}

// The one line for a CLI11 parse error: CLI11's own text, except a value CLI11 could not convert
// ("Could not convert: --seed = abc": an integer option given text or a fraction; every
// floating-point option has a number_check), which reads like the checks above:
// "--seed: abc is not a whole number".
inline std::string parse_error_line(const CLI::ParseError& e) {
  const std::string text = e.what();
  const std::string prefix = "Could not convert: ";
  const auto eq = text.find(" = ");
  if (dynamic_cast<const CLI::ConversionError*>(&e) == nullptr || !text.starts_with(prefix) ||
      eq == std::string::npos)
    return text;
  return text.substr(prefix.size(), eq - prefix.size()) + ": " + text.substr(eq + 3) +
         " is not a whole number";
}

inline const CLI::Validator kPositive =
    number_check("POSITIVE", "positive", [](double v) { return v > 0; });
inline const CLI::Validator kNonNegative =
    number_check("NONNEGATIVE", ">= 0", [](double v) { return v >= 0; });

}  // namespace ss::cli
