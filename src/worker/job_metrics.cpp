#include "worker/job_metrics.hpp"

#include "obs/log.hpp"
#include "obs/traced_observe.hpp"
#include "todo/export_job.hpp"

#include <array>

namespace todo::worker {

namespace {

// Exports take from milliseconds for a short list to minutes for millions of rows.
constexpr std::array<double, 12> job_duration_buckets_seconds{0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                              1,    2.5,   5,    10,  30,   120};

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

job_metrics::job_metrics(obs::registry& registry, std::string environment, std::string worker_id)
    : jobs_(registry.add_counter("background_jobs_total", "Background job events by job type and status.",
                                 {"job_type", "status", "environment"})),
      durations_(registry.add_histogram("background_job_duration_seconds",
                                        "Run time of background jobs by job type and outcome.",
                                        {"job_type", "status", "environment"}, job_duration_buckets_seconds)),
      depth_(registry.add_gauge("background_queue_depth",
                                "Jobs in the queue, sampled with each heartbeat (every 5 s): waiting, in_progress "
                                "(delivered, not acknowledged), delayed (retries not yet due) and dead (dead-letter "
                                "stream).",
                                {"job_type", "state"})),
      heartbeat_(registry
                     .add_gauge("worker_heartbeat_timestamp_seconds",
                                "Unix time of this worker's last heartbeat written to Redis.", {"worker_id"})
                     .with({worker_id})),
      environment_(std::move(environment)) {
  // Every series starts at 0, so that increase() counts the first failure
  // after a restart. A series that first appears at 1 would count nothing.
  for (std::string_view status : {"started", "succeeded", "failed", "retried"}) {
    jobs_.with({domain::export_job_type, status, environment_});
  }
}

void job_metrics::count(std::string_view job_type, std::string_view status) noexcept {
  try {
    jobs_.with({job_type, status, environment_}).inc();
  } catch (const std::exception& e) {
    obs::log_error("todo.worker", {}, "recording job metrics failed", {{"error", e.what()}});
  }
}

void job_metrics::observe_duration(std::string_view job_type, std::string_view status,
                                   std::chrono::steady_clock::duration elapsed, const obs::active_span& span) noexcept {
  try {
    auto& series = durations_.with({job_type, status, environment_});
    const double seconds = std::chrono::duration<double>(elapsed).count();
    obs::observe_in_span(series, seconds, span);
  } catch (const std::exception& e) {
    obs::log_error("todo.worker", {}, "recording job metrics failed", {{"error", e.what()}});
  }
}

void job_metrics::set_queue_depth(std::string_view job_type, const queue::queue_depth& depth) noexcept {
  try {
    depth_.with({job_type, "waiting"}).set(static_cast<double>(depth.waiting));
    depth_.with({job_type, "in_progress"}).set(static_cast<double>(depth.pending));
    depth_.with({job_type, "delayed"}).set(static_cast<double>(depth.delayed));
    depth_.with({job_type, "dead"}).set(static_cast<double>(depth.dead));
  } catch (const std::exception& e) {
    obs::log_error("todo.worker", {}, "recording queue depth failed", {{"error", e.what()}});
  }
}

void job_metrics::heartbeat_sent() noexcept { heartbeat_.set(unix_seconds_now()); }

}  // namespace todo::worker
