#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

// Timing helpers the sandbox benchmarks share.
namespace aetherium::bench {

/// The p-th percentile (0..1) of `v`, nearest rank; 0 for no samples.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

/// Milliseconds since `start`.
inline double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

} // namespace aetherium::bench
