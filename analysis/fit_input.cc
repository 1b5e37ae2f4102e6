// Reading scalefit's input (fit_input.h): a store by its SQLite header, else a CSV with
// --columns; --min-tokens applied to CSV points here (the store reader applies it itself).
#include "analysis/fit_input.h"

#include <fmt/core.h>

#include <filesystem>

#include "analysis/csv_input.h"
#include "analysis/store_input.h"
#include "ss/error.h"

namespace ss::analysis {

FitData read_fit_input(const InputRequest& o) {
  namespace fs = std::filesystem;
  const fs::path path = o.path;
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw InputError(
        fmt::format("{}: no such file; pass a ScaleSweep store or a CSV file", path.string()));
  if (!fs::is_regular_file(path, ec))
    throw InputError(fmt::format("{}: not a regular file; pass a ScaleSweep store or a CSV file",
                                 path.string()));
  if (looks_like_sqlite(path)) {
    if (!o.columns.empty())
      throw InputError(fmt::format(
          "{} is a ScaleSweep store; --columns applies to CSV input only, drop it", path.string()));
    StoreSelection selection = parse_where(o.where);
    selection.min_tokens = o.min_tokens;
    return read_store_points(path, selection);
  }
  if (o.columns.empty())
    throw InputError(fmt::format(
        "{} is not a ScaleSweep store (no SQLite header); if it is a CSV, name its columns with "
        "--columns N=...,C=...|D=...,loss=...",
        path.string()));
  FitData data = read_csv_points(path, parse_column_spec(o.columns));
  if (o.min_tokens > 0) {
    const auto before = data.points.size();
    std::erase_if(data.points, [&](const FitPoint& p) { return p.d < o.min_tokens; });
    if (data.points.empty())
      throw InputError(fmt::format("{}: no point has D >= --min-tokens {:g}; lower it",
                                   path.string(), o.min_tokens));
    data.notes.push_back(fmt::format("{} points with D < --min-tokens {:g} were left out",
                                     before - data.points.size(), o.min_tokens));
  }
  return data;
}

}  // namespace ss::analysis
