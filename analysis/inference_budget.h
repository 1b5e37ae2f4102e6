// Inference-aware allocation (Sardana, Portes, Doubov & Frankle 2024, "Beyond Chinchilla-Optimal"):
// for the loss that the Chinchilla-optimal model reaches at a training budget C, the model size N
// and training tokens D that reach the same loss at the least lifetime cost 6·N·D + 2·N·T, T being
// the tokens the model will serve, on the fitted L(N, D) = E + A/N^alpha + B/D^beta.
// Invariant: every plan lies on the target iso-loss curve and satisfies the optimum's condition
// (6·D + 2·T)·beta·B·D^(-beta-1) = 6·alpha·A·N^(-alpha), found by bisection on a bracket that is
// proven to hold a sign change (the condition is monotone along the curve), so the solver
// cannot diverge; bad input throws ss::InputError (one line) before anything is computed.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "analysis/laws/laws.h"
#include "analysis/report_plots.h"

namespace ss::analysis {

// The constants of L(N, D) = E + A/N^alpha + B/D^beta.
struct LossSurface {
  double e = 0, a = 0, b = 0, alpha = 0, beta = 0;
  double loss(double n, double d) const;
};

// A chinchilla-3 fit's constants; throws ss::InputError for any other law.
LossSurface loss_surface_of(const laws::LawFit& chinchilla3);

// A model that reaches `loss` and then serves `inference_tokens`.
struct LifetimePlan {
  double n = 0;                 // parameters
  double d = 0;                 // training tokens
  double train_flops = 0;       // 6 N D
  double total_flops = 0;       // 6 N D + 2 N T
  double tokens_per_param() const { return d / n; }
};

// The least-lifetime-FLOPs (N, D) with L(N, D) = loss, serving T tokens. T = 0 gives the
// Chinchilla-optimal model for that loss. Throws ss::InputError when loss <= E (unreachable),
// T < 0, or a value is not finite.
LifetimePlan inference_optimal(const LossSurface& s, double loss, double inference_tokens);

// One (budget, T) row: the Chinchilla-optimal model at C serving T tokens, against the
// inference-aware model of the same loss.
struct InferenceAllocation {
  LossSurface surface;          // the law both models are on
  double budget = 0;            // C: training FLOPs of the Chinchilla-optimal model
  double inference_tokens = 0;  // T
  double target_loss = 0;       // L at the Chinchilla-optimal (N, D) for C
  LifetimePlan chinchilla;      // N_opt(C), D_opt(C), serving T
  LifetimePlan optimal;         // same loss, least 6ND + 2NT
  double flops_saved() const { return chinchilla.total_flops - optimal.total_flops; }
  double saving() const { return flops_saved() / chinchilla.total_flops; }
};

// A row per (budget, T), budgets outer, in the order given. `chinchilla3` must be a chinchilla-3
// fit; its compute-optimal N(C) is the law table's (laws::allocate_compute).
std::vector<InferenceAllocation> inference_allocations(const laws::LawFit& chinchilla3,
                                                       const std::vector<double>& budgets,
                                                       const std::vector<double>& inference_tokens);

// The saving in percent for display ("17.45%").
std::string saving_percent(const InferenceAllocation& r);

// inference_allocation.svg: per budget, the optimal N against T (a line swept over T, markers at
// the rows' T > 0) and the Chinchilla-optimal N (dashed); nullopt when no row has T > 0.
std::optional<NamedPlot> inference_plot(const std::vector<InferenceAllocation>& rows);

// report.md section and fits.json value for the rows (fits.json key "inference").
std::string inference_markdown(const std::vector<InferenceAllocation>& rows);
nlohmann::json inference_json(const std::vector<InferenceAllocation>& rows);

}  // namespace ss::analysis
