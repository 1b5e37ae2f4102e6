// Portable random numbers for parameter init. Invariant: the same seed gives the
// same sequence with any standard library: std::mt19937_64's algorithm is fixed
// by the standard, and the normal transform (Box-Muller) is written out here
// because std::normal_distribution differs between libstdc++ and libc++.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace ss::model {

class NormalRng {
 public:
  explicit NormalRng(uint64_t seed) : engine_(seed) {}

  // Uniform in (0, 1]: 53 random bits, shifted by one ulp so log() never sees 0.
  double uniform_open0() { return (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53; }

  // Standard normal; values come in Box-Muller pairs, the second one is cached.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_open0();
    const double u2 = uniform_open0();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_ = r * std::sin(angle);
    has_spare_ = true;
    return r * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace ss::model
