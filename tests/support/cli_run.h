// A command-line binary run by a test with stdout and stderr kept apart, and the bad-input
// contract every CLI test checks (exit 2, one stderr line naming the problem, nothing written).
// Invariant: the output files live in the test's own directory; nothing else is touched.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ss::testing {

struct CliResult {
  int rc = -1;
  std::string out, err;
};

// Runs `/bin/sh -c command` with stdout and stderr captured through files in `dir`.
inline CliResult run_cli(const std::string& command, const std::filesystem::path& dir) {
  const std::filesystem::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  CliResult r;
  r.rc = run_command(command + " > " + out.string() + " 2> " + err.string()).rc;
  r.out = read_bytes(out);
  r.err = read_bytes(err);
  return r;
}

// Bad input: exit 2, exactly one stderr line containing `needle`, no `out` created and no
// ".report." staging directory left in `dir`. `args` only labels the failure messages.
inline void expect_refused(const CliResult& r, const std::string& args, const std::string& needle,
                           const std::filesystem::path& out, const std::filesystem::path& dir) {
  EXPECT_EQ(r.rc, 2) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out)) << args;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".report."), std::string::npos)
        << "leftover " << entry.path();
}

}  // namespace ss::testing
