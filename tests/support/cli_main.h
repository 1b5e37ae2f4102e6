// main() of the test binaries that reuse scalesweep's subcommands (fake_sweep, hold_sweep): the
// same exit-code mapping as runner/main.cc (CLI parse errors and ss::InputError -> 2, any other
// exception -> 1, else the subcommand's own code).
#pragma once

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <memory>

#include "ss/error.h"

namespace ss::testing {

inline int parse_and_run(CLI::App& app, int argc, char** argv, const char* name,
                         const std::shared_ptr<int>& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  } catch (const InputError& e) {
    fmt::print(stderr, "{}: error: {}\n", name, e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", name, e.what());
    return 1;
  }
  return *exit_code;
}

}  // namespace ss::testing
