// Grid sizing shared by the .cu files. Invariant: grids are capped (grid-stride
// loops cover the rest), so any size_t element count gives a valid launch.
#pragma once

#include <algorithm>
#include <cstddef>

namespace ss::model::cuda {

inline constexpr int kThreadsPerBlock = 256;

// Blocks for `n` work items at kThreadsPerBlock, at least 1, at most 2^20.
inline unsigned int blocks_for(std::size_t n) {
  const std::size_t blocks = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned int>(std::clamp<std::size_t>(blocks, 1, std::size_t{1} << 20));
}

}  // namespace ss::model::cuda
