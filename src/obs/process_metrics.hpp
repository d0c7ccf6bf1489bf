#pragma once

// Process metrics under the process_* names and HELP texts of the Prometheus client libraries.

#include "obs/metrics.hpp"

#include <vector>

namespace todo::obs {

/// Reads CPU time, memory, file descriptors and start time of this process from /proc/self,
/// /proc/stat and getrlimit(). A value that cannot be read is left out instead of failing.
std::vector<collected_family> collect_process_metrics() noexcept;

/// Adds collect_process_metrics() to `metrics` as a collector and returns its id.
collector_id add_process_collector(registry& metrics);

}  // namespace todo::obs
