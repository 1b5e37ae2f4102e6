// The published numbers scalefit compares itself with (Hoffmann et al. 2022 Tables 2, 3, A3;
// Epoch AI's 2024 refit; Sardana et al. 2024's inference example). Invariant: they live only in
// analysis/data/chinchilla_published.json, which the build compiles into scalefit as text
// (published_data.cc.in), so the binary finds them wherever it runs; no number is in code.
#pragma once

#include <nlohmann/json.hpp>

namespace ss::analysis {

// The parsed file (parsed once). Each block carries its "source".
const nlohmann::json& chinchilla_published();

}  // namespace ss::analysis
