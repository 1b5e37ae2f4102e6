// scalefit's --inference-tokens option (the CLI side of inference_budget.h): the option and its
// validator, the checks that need no fit (run before any input is read), the rows from the fits,
// the stdout table and the report section. Invariant: a request that cannot be answered
// (no --budget, chinchilla-3 not requested or not fitted) is ss::InputError before anything is
// written.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "analysis/inference_budget.h"
#include "analysis/report_writer.h"

namespace ss::analysis {

// Adds --inference-tokens T[,T...] (each a finite token count >= 0) to `app`.
void add_inference_option(CLI::App& app, std::vector<double>& tokens);

// Before fitting: --inference-tokens needs --budget, and chinchilla-3 among `laws`.
void check_inference_request(const std::vector<double>& tokens, const std::vector<double>& budgets,
                             const std::vector<std::string>& laws);

// After fitting: one row per (budget, T) from the chinchilla-3 fit; empty when no tokens given.
std::vector<InferenceAllocation> inference_rows(const std::vector<double>& tokens,
                                                const std::vector<double>& budgets,
                                                const std::vector<laws::LawFit>& fits);

// The rows on stdout, one line each.
void print_inference(const std::vector<InferenceAllocation>& rows);

// The rows as a report section (report.md text, fits.json "inference").
ReportSection inference_section(const std::vector<InferenceAllocation>& rows);

}  // namespace ss::analysis
