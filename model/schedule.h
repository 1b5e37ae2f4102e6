// Learning-rate schedule: linear warmup, then cosine decay to a floor at the last
// step. Invariant: lr(step) for 0-based step is peak*(step+1)/warmup during
// warmup, exactly peak at step = warmup, and exactly min_ratio*peak at step =
// total_steps-1 (and after).
#pragma once

#include <cstdint>

namespace ss::model {

struct LrSchedule {
  double peak_lr = 0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_ratio = 0.1;  // the floor is 10% of peak
};

// Throws ss::InputError on a negative lr, total_steps < 1 or warmup > total.
void validate_lr_schedule(const LrSchedule& s);
double lr_at(const LrSchedule& s, int64_t step);

}  // namespace ss::model
