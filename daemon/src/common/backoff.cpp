// Full-jitter backoff (see backoff.hpp).
#include "common/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace rgsync {

double full_jitter_backoff(double base_s, double cap_s, int attempt, double r) {
  double ceiling = std::min(cap_s, base_s * std::pow(2.0, std::min(attempt, 62)));
  return std::clamp(r, 0.0, 1.0) * std::max(0.0, ceiling);
}

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace rgsync
