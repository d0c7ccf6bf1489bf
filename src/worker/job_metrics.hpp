#pragma once

#include "obs/metrics.hpp"
#include "obs/tracer.hpp"
#include "queue/job_stream.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace todo::worker {

/// The worker's job metrics, under the names the Python version's dashboards
/// use: background_jobs_total and background_job_duration_seconds by
/// job_type, status and environment, background_queue_depth by job_type and
/// state, and the time of the last heartbeat.
class job_metrics {
 public:
  job_metrics(obs::registry& registry, std::string environment, std::string worker_id);

  /// Counts a job event: "started", "succeeded", "failed" or "retried".
  void count(std::string_view job_type, std::string_view status) noexcept;

  /// Observes how long a run took, by its outcome ("succeeded" or "failed").
  /// Observes a run's duration, with the span's trace id as the exemplar when it is sampled.
  void observe_duration(std::string_view job_type, std::string_view status,
                        std::chrono::steady_clock::duration elapsed, const obs::active_span& span = {}) noexcept;

  void set_queue_depth(std::string_view job_type, const queue::queue_depth& depth) noexcept;

  /// Records that a heartbeat was written now.
  void heartbeat_sent() noexcept;

 private:
  obs::counter_family& jobs_;
  obs::histogram_family& durations_;
  obs::gauge_family& depth_;
  obs::gauge& heartbeat_;
  std::string environment_;
};

}  // namespace todo::worker
