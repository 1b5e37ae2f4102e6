// Learning-rate schedule (see schedule.h for the invariant).
#include "model/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "ss/error.h"

namespace ss::model {

void validate_lr_schedule(const LrSchedule& s) {
  if (!(s.peak_lr >= 0) || !std::isfinite(s.peak_lr)) {
    throw InputError("lr schedule: peak lr " + std::to_string(s.peak_lr) +
                     " is not a finite value >= 0; set lr to e.g. 6e-4");
  }
  if (s.total_steps < 1) {
    throw InputError("lr schedule: total steps " + std::to_string(s.total_steps) +
                     " < 1; raise the token budget or lower the batch size");
  }
  if (s.warmup_steps < 0 || s.warmup_steps > s.total_steps) {
    throw InputError("lr schedule: warmup steps " + std::to_string(s.warmup_steps) +
                     " outside [0, total steps " + std::to_string(s.total_steps) +
                     "]; lower warmup");
  }
  if (!(s.min_ratio >= 0 && s.min_ratio <= 1)) {
    throw InputError("lr schedule: min ratio " + std::to_string(s.min_ratio) +
                     " outside [0, 1]; use 0.1");
  }
}

double lr_at(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps) {
    return s.peak_lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  const double min_lr = s.min_ratio * s.peak_lr;
  const int64_t decay_steps = s.total_steps - 1 - s.warmup_steps;
  if (decay_steps <= 0) return step >= s.total_steps - 1 ? min_lr : s.peak_lr;
  const double progress =
      std::min(1.0, static_cast<double>(step - s.warmup_steps) / static_cast<double>(decay_steps));
  return min_lr + 0.5 * (s.peak_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace ss::model
