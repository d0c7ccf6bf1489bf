#pragma once

#include "config/worker_config.hpp"
#include "db/pool.hpp"
#include "obs/tracer.hpp"
#include "queue/job_stream.hpp"
#include "todo/export_store.hpp"
#include "worker/job_metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace todo::worker {

/// Settings of the job loop, taken from worker_config.
struct job_runner_options {
  std::string worker_id;
  unsigned concurrency = 2;
  std::chrono::seconds visibility_timeout{60};
  unsigned max_attempts = 3;
  std::chrono::milliseconds retry_base_delay{1000};
  std::chrono::hours export_retention{24};
  std::chrono::seconds republish_after{300};
  unsigned export_batch_rows = 5000;
  obs::tracer* tracer = nullptr;  // null: jobs are not traced; must outlive the runner

  static job_runner_options from(const config::worker_config& config);
};

/// Consumes export jobs from the stream and runs them.
///
/// Each of `concurrency` consumers reads one job at a time. A job is
/// acknowledged only after its result is committed, so a worker that dies
/// leaves it pending, and another consumer reclaims it once it has been idle
/// for the visibility timeout. The job row in PostgreSQL decides what runs:
/// claim() refuses finished jobs and jobs another worker is exporting, and
/// only one run can set SUCCESS. A failed run is retried with exponential
/// backoff until max_attempts runs have started (crashed runs count too),
/// then the job is FAILURE and its message goes to the dead-letter stream.
///
/// A maintenance loop sends heartbeats, moves due retries back to the
/// stream, publishes again PENDING jobs whose message was lost (the web
/// process died between its commit and its publish, or Redis lost data), and
/// deletes expired exports.
class job_runner : public std::enable_shared_from_this<job_runner> {
 public:
  /// `metrics` may be null, and must otherwise outlive the runner.
  job_runner(std::shared_ptr<db::pool> database, std::shared_ptr<queue::job_stream> jobs, job_runner_options options,
             std::shared_ptr<job_metrics> metrics = nullptr);

  /// Spawns the consumers and the maintenance loop on `executor`.
  void start(boost::asio::any_io_executor executor);

  /// Stops taking new jobs. Jobs already running go on to the end.
  void stop();

  /// Jobs running right now.
  std::size_t running() const noexcept { return running_.load(); }

  /// Consumers and the maintenance loop still alive; 0 once all have
  /// returned after stop().
  std::size_t active_loops() const noexcept { return active_loops_.load(); }

 private:
  boost::asio::awaitable<void> consume(std::string consumer);
  boost::asio::awaitable<void> maintain();
  boost::asio::awaitable<void> republish_lost_jobs();
  boost::asio::awaitable<void> process(const queue::delivery& job, std::string_view consumer);
  boost::asio::awaitable<void> handle_failure(const queue::delivery& job, int attempts, const std::string& error,
                                              obs::active_span& span);
  boost::asio::awaitable<void> pause(std::chrono::milliseconds delay);

  std::shared_ptr<db::pool> database_;
  std::shared_ptr<queue::job_stream> jobs_;
  domain::export_store exports_;
  job_runner_options options_;
  std::shared_ptr<job_metrics> metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> running_{0};
  std::atomic<std::size_t> active_loops_{0};
};

}  // namespace todo::worker
