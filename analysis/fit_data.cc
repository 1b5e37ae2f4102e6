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
  // Rank by loss without reordering the points (the report lists them in input order).
  std::vector<std::size_t> order(data.points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return data.points[a].loss > data.points[b].loss;
  });
  std::vector<bool> drop(data.points.size(), false);
  std::set<std::int64_t> dropped;
  for (int i = 0; i < count; ++i) drop[order[i]] = true, dropped.insert(data.points[order[i]].run);
  std::vector<FitPoint> kept;
  for (std::size_t i = 0; i < data.points.size(); ++i)
    if (!drop[i]) kept.push_back(data.points[i]);
  data.points = std::move(kept);
  std::erase_if(data.curves, [&](const LossCurve& c) { return dropped.contains(c.run); });
  data.notes.push_back(
      fmt::format("the {} highest-loss points were dropped (--drop-highest)", count));
}

}  // namespace ss::analysis
