#pragma once

#include <algorithm>
#include <chrono>

namespace todo::queue {

/// Capped exponential backoff: `initial` for the first attempt (attempt 1),
/// doubling with each attempt, never above `maximum`.
inline std::chrono::milliseconds capped_backoff(int attempt, std::chrono::milliseconds initial,
                                                std::chrono::milliseconds maximum) {
  if (initial.count() <= 0) return std::chrono::milliseconds::zero();
  if (attempt <= 1 || initial >= maximum) return std::min(initial, maximum);

  auto delay = initial;
  for (int i = 1; i < attempt && delay < maximum; ++i) delay *= 2;
  return std::min(delay, maximum);
}

}  // namespace todo::queue
