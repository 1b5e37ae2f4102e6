// Reading fit points and loss curves from a ScaleSweep store (read-only: nothing is migrated or
// written here). Invariant: the returned FitData holds only runs that pass the filter and have
// a final loss; an empty result is an ss::InputError, never an empty fit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "analysis/fit_data.h"

namespace ss::analysis {

// Which runs feed the fits.
struct StoreSelection {
  std::string status = "done";  // a runs.status value, or "all"
  double min_tokens = 0;        // runs trained on fewer tokens (D) are left out
};

// Parses --where (`status=done`, `status=all`, `status=diverged` ...). Throws ss::InputError.
StoreSelection parse_where(const std::string& where, StoreSelection base = {});

// True when the file starts with the SQLite header (the input is then treated as a store).
bool looks_like_sqlite(const std::filesystem::path& path);

// Reads the runs (N = n_params non-embedding, D = tokens_seen or else the target tokens,
// C = planned flops scaled to D, loss = final_val_loss or else final_train_loss) and their
// `metrics` curves.
FitData read_store_points(const std::filesystem::path& path, const StoreSelection& selection);

}  // namespace ss::analysis
