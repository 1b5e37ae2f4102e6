// Where scalefit --out may write, and the temp-then-rename publication of the report there.
// Invariant: scalefit never deletes or replaces anything it did not write. DIR may be a new
// path, an empty directory, or an earlier scalefit report (its marker file lists what scalefit
// wrote there and nothing else is in it); anything else (a file, a symlink, a directory with
// the user's files, a directory holding the input) is refused with ss::InputError before any
// fitting, with nothing touched.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace ss::analysis {

// The marker file in every report directory: line 1 "scalefit report", then one file name a
// line (the files scalefit wrote there).
inline constexpr char kReportMarker[] = ".scalefit-report";

// Throws ss::InputError (one line: what, where, how to fix) unless `out_dir` may receive a
// report built from `input` (see above). Touches nothing.
void check_report_target(const std::filesystem::path& out_dir, const std::filesystem::path& input);

// Re-checks `out_dir`, creates a fresh temporary sibling `.NAME.tmp-PID[-k]`, lets `fill` write
// the report's files into it, writes the marker, and renames it onto `out_dir`. An earlier
// report there is moved aside and only the files its marker lists are removed. On failure the
// temporary directory (ours alone) is removed and an earlier report is left in place.
void publish_report_dir(const std::filesystem::path& out_dir, const std::filesystem::path& input,
                        const std::function<void(const std::filesystem::path&)>& fill);

// Writes `text` to `path` (a file inside the temporary directory `fill` gets); throws
// std::runtime_error naming the file and the OS error when it cannot.
void write_report_file(const std::filesystem::path& path, const std::string& text);

}  // namespace ss::analysis
