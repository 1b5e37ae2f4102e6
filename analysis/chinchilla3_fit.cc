// Chinchilla approach-3 fitter (see chinchilla3_fit.h).
#include "analysis/chinchilla3_fit.h"

#include <ceres/ceres.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

namespace ss::analysis {
namespace {

constexpr double kHuberDelta = 1e-3;

// Sum over points of Huber(log L_pred - log L_obs) and its gradient in (a, b, e, alpha, beta).
class HuberObjective final : public ceres::FirstOrderFunction {
 public:
  HuberObjective(const std::vector<double>& log_n, const std::vector<double>& log_d,
                 const std::vector<double>& log_loss)
      : log_n_(log_n), log_d_(log_d), log_loss_(log_loss) {}

  bool Evaluate(const double* x, double* cost, double* gradient) const override {
    double total = 0;
    std::array<double, 5> g{};
    for (std::size_t i = 0; i < log_n_.size(); ++i) {
      const double t1 = x[0] - x[3] * log_n_[i];
      const double t2 = x[1] - x[4] * log_d_[i];
      const double t3 = x[2];
      const double m = std::max({t1, t2, t3});
      const double e1 = std::exp(t1 - m), e2 = std::exp(t2 - m), e3 = std::exp(t3 - m);
      const double sum = e1 + e2 + e3;
      const double r = m + std::log(sum) - log_loss_[i];
      const double abs_r = std::abs(r);
      double dr;  // dHuber/dr
      if (abs_r <= kHuberDelta) {
        total += 0.5 * r * r;
        dr = r;
      } else {
        total += kHuberDelta * (abs_r - 0.5 * kHuberDelta);
        dr = r > 0 ? kHuberDelta : -kHuberDelta;
      }
      if (gradient) {
        const double w1 = e1 / sum, w2 = e2 / sum, w3 = e3 / sum;
        g[0] += dr * w1;
        g[1] += dr * w2;
        g[2] += dr * w3;
        g[3] -= dr * w1 * log_n_[i];
        g[4] -= dr * w2 * log_d_[i];
      }
    }
    *cost = total;
    if (gradient) std::copy(g.begin(), g.end(), gradient);
    return std::isfinite(total);
  }
  int NumParameters() const override { return 5; }

 private:
  const std::vector<double>& log_n_;
  const std::vector<double>& log_d_;
  const std::vector<double>& log_loss_;
};

}  // namespace

std::vector<Chinchilla3Params> chinchilla3_start_grid() {
  std::vector<Chinchilla3Params> starts;
  for (int ia = 0; ia <= 5; ++ia)
    for (int ib = 0; ib <= 5; ++ib)
      for (int ie = 0; ie <= 4; ++ie)
        for (int ial = 0; ial <= 4; ++ial)
          for (int ibe = 0; ibe <= 4; ++ibe)
            starts.push_back({5.0 * ia, 5.0 * ib, -1.0 + 0.5 * ie, 0.5 * ial, 0.5 * ibe});
  return starts;
}

Chinchilla3Result fit_chinchilla3(const std::vector<double>& log_n,
                                  const std::vector<double>& log_d,
                                  const std::vector<double>& log_loss,
                                  const std::vector<Chinchilla3Params>& starts, int threads,
                                  const std::function<void(std::size_t, std::size_t)>& progress) {
  // ceres::GradientProblem takes ownership of the function it is given (its API); the
  // unique_ptr is released into it right away.
  auto function = std::make_unique<HuberObjective>(log_n, log_d, log_loss);
  const ceres::GradientProblem problem(function.release());
  ceres::GradientProblemSolver::Options options;
  options.line_search_direction_type = ceres::LBFGS;
  options.max_num_iterations = 2000;
  options.function_tolerance = 1e-12;
  options.gradient_tolerance = 1e-14;
  options.parameter_tolerance = 1e-12;
  options.logging_type = ceres::SILENT;

  std::vector<Chinchilla3Result> results(starts.size());
  std::atomic<std::size_t> next{0}, done{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < starts.size(); i = next++) {
      Chinchilla3Result& r = results[i];
      r.x = starts[i];
      ceres::GradientProblemSolver::Summary summary;
      ceres::Solve(options, problem, r.x.data(), &summary);
      r.objective = summary.final_cost;
      r.converged = summary.IsSolutionUsable() && std::isfinite(summary.final_cost);
      const std::size_t finished = ++done;
      if (progress) progress(finished, starts.size());
    }
  };
  const int count = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  {
    std::vector<std::jthread> pool;
    for (int t = 1; t < count; ++t) pool.emplace_back(worker);
    worker();
  }
  Chinchilla3Result best;
  best.objective = INFINITY;
  for (const auto& r : results)
    if (r.converged && r.objective < best.objective) best = r;
  return best;
}

}  // namespace ss::analysis
