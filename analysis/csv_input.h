// Reading fit points from a CSV file: RFC 4180 fields (quotes, doubled quotes, commas and
// spaces inside quoted headers, CRLF), a --columns mapping from roles (N, D, C, loss, run) to
// header names, D derived as C/(6N) or C as 6ND when one is missing. Invariant: either every
// row becomes a valid FitPoint or ss::InputError names the first bad file:line and column.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "analysis/fit_data.h"

namespace ss::analysis {

// Role -> CSV header, e.g. {"N": "Model Size", "C": "Training FLOP", "loss": "loss"}.
using ColumnMap = std::map<std::string, std::string>;

// Parses `N="Model Size",C=Training FLOP,loss=loss` (quotes optional; the shell usually strips
// them). Roles allowed: N, D, C, loss, run. Throws ss::InputError on an unknown or repeated
// role, a missing '=', or when N, loss and one of D/C are not all given.
ColumnMap parse_column_spec(const std::string& spec);

// Splits CSV text into records of fields (RFC 4180). Throws ss::InputError naming
// `where`:line for an unterminated quote.
std::vector<std::vector<std::string>> parse_csv_records(const std::string& text,
                                                        const std::string& where);

// Reads the CSV at `path` into FitData (from_store = false).
FitData read_csv_points(const std::filesystem::path& path, const ColumnMap& columns);

}  // namespace ss::analysis
