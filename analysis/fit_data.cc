// Point selection shared by every input (see fit_data.h).
#include "analysis/fit_data.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "ss/error.h"

namespace ss::analysis {

void drop_highest_loss(FitData& data, int count) {
  if (count == 0) return;
  if (count < 0 || static_cast<std::size_t>(count) >= data.points.size())
    throw InputError(
        fmt::format("--drop-highest {}: must be >= 0 and below the number of points ({}) in {}",
                    count, data.points.size(), data.source));
  std::stable_sort(data.points.begin(), data.points.end(),
                   [](const FitPoint& a, const FitPoint& b) { return a.loss > b.loss; });
  std::set<std::int64_t> dropped;
  for (int i = 0; i < count; ++i) dropped.insert(data.points[i].run);
  data.points.erase(data.points.begin(), data.points.begin() + count);
  std::erase_if(data.curves, [&](const LossCurve& c) { return dropped.contains(c.run); });
  data.notes.push_back(
      fmt::format("the {} highest-loss points were dropped (--drop-highest)", count));
}

}  // namespace ss::analysis
