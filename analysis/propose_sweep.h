// The sweep files of `scalefit propose`: each candidate (N, D) realised as a complete sweep file
// built from a template sweep file (--config, or the store's latest sweep), so that `scalesweep
// plan` / `run` accept it as is. Invariant: every Candidate returned was parsed and expanded by
// the runner's own parser (runner/config.h, runner/grid.h) into exactly one point, and its
// n, d and flops are that point's (non-embedding N, target D, planned FLOPs).
#pragma once

#include <string>
#include <vector>

#include "analysis/propose.h"

namespace ss::analysis {

struct RealisedCandidates {
  std::vector<Candidate> candidates;  // distinct (N, D), each with its sweep file
  std::vector<std::string> notes;     // what was dropped and why
};

// The shape of each ideal candidate follows the template's family: its median aspect ratio
// d_model / n_layer, its first n_head (or d_head), n_ctx, batch_tokens, learning rate and seed;
// n_layer = round(cbrt(N / (12 a^2))), d_model = sqrt(N / (12 n_layer)) rounded to a multiple of
// the heads (or d_head * tp); D = the candidate's D. Candidates the runner refuses (e.g. fewer
// steps than a fixed warmup) or whose realised FLOPs exceed per_point_limit are dropped (noted).
// Throws ss::InputError when the template itself does not parse (one line, FILE:LINE).
RealisedCandidates realise_candidates(const std::string& template_text,
                                      const std::string& template_origin,
                                      const std::vector<Candidate>& ideal, double per_point_limit);

// The template of a store: the config text of its latest sweep, and "STORE (sweep NAME)".
// Throws ss::InputError when the store has no sweep.
std::pair<std::string, std::string> store_sweep_template(const std::string& store_path);

}  // namespace ss::analysis
