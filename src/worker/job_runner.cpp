#include "worker/job_runner.hpp"

#include "db/error.hpp"
#include "obs/log.hpp"
#include "queue/error.hpp"
#include "queue/message_span.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace todo::worker {

namespace asio = boost::asio;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view logger = "todo.worker";

// Heartbeat keys live this long; /healthz/background counts a worker as
// alive while its key exists.
constexpr auto heartbeat_ttl = 15s;
constexpr auto heartbeat_interval = 5s;
constexpr auto retention_interval = 10min;
constexpr auto republish_interval = 10s;
constexpr int republish_batch = 100;
// How long one XREADGROUP waits for a job, which also bounds how long a
// consumer takes to notice stop().
constexpr auto read_block = 2s;
constexpr auto max_retry_delay = std::chrono::milliseconds(5min);
// A queue or database failure in a loop is logged at most this often.
constexpr auto warning_interval = 30s;

// Counts a loop or a job as running for as long as it lives.
class running_guard {
 public:
  explicit running_guard(std::atomic<std::size_t>& counter) : counter_(counter) { ++counter_; }
  ~running_guard() { --counter_; }
  running_guard(const running_guard&) = delete;
  running_guard& operator=(const running_guard&) = delete;

 private:
  std::atomic<std::size_t>& counter_;
};

// Logs a repeated failure once per warning_interval and counts the rest.
class throttled_warning {
 public:
  void log(std::string_view message, std::string_view error) {
    const auto now = steady_clock::now();
    ++suppressed_;
    if (now - last_ < warning_interval) return;
    obs::log_warning(logger, {}, message, {{"error", error}, {"occurrences", suppressed_}});
    last_ = now;
    suppressed_ = 0;
  }

 private:
  steady_clock::time_point last_{};
  std::int64_t suppressed_ = 0;
};

double milliseconds_since(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

}  // namespace

job_runner_options job_runner_options::from(const config::worker_config& config) {
  job_runner_options options;
  options.worker_id = config.worker_id;
  options.concurrency = config.concurrency;
  options.visibility_timeout = config.visibility_timeout;
  options.max_attempts = config.max_attempts;
  options.retry_base_delay = config.retry_base_delay;
  options.export_retention = config.export_retention;
  options.republish_after = config.republish_after;
  options.export_batch_rows = config.export_batch_rows;
  return options;
}

job_runner::job_runner(std::shared_ptr<db::pool> database, std::shared_ptr<queue::job_stream> jobs,
                       job_runner_options options, std::shared_ptr<job_metrics> metrics)
    : database_(database),
      jobs_(std::move(jobs)),
      exports_(std::move(database)),
      options_(std::move(options)),
      metrics_(std::move(metrics)) {}

void job_runner::start(asio::any_io_executor executor) {
  // Each loop runs on a strand of its own: the database and Redis deadlines
  // use Boost 1.81's parallel group, which is not safe on an io_context run
  // by several threads unless its coroutine is on a strand.
  auto self = shared_from_this();
  for (unsigned i = 0; i < options_.concurrency; ++i) {
    std::string consumer = options_.worker_id + "-" + std::to_string(i + 1);
    asio::co_spawn(asio::make_strand(executor), [self, consumer]() { return self->consume(consumer); },
                   asio::detached);
  }
  asio::co_spawn(asio::make_strand(executor), [self]() { return self->maintain(); }, asio::detached);
  obs::log_info(logger, {}, "job runner started",
                {{"worker_id", options_.worker_id},
                 {"concurrency", options_.concurrency},
                 {"visibility_timeout_s", options_.visibility_timeout.count()},
                 {"max_attempts", options_.max_attempts}});
}

void job_runner::stop() { stopping_ = true; }

asio::awaitable<void> job_runner::pause(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> job_runner::consume(std::string consumer) {
  running_guard loop(active_loops_);
  throttled_warning read_warning;
  const auto reclaim_interval = std::min<std::chrono::milliseconds>(options_.visibility_timeout / 2, 5s);
  auto next_reclaim = steady_clock::now();

  while (!stopping_) {
    std::vector<queue::delivery> batch;
    std::string failure;
    try {
      if (steady_clock::now() >= next_reclaim) {
        batch = co_await jobs_->reclaim(consumer, options_.visibility_timeout, 1);
        next_reclaim = steady_clock::now() + reclaim_interval;
        for (const auto& job : batch) {
          obs::log_info(logger, {job.message.request_id, {}, {}}, "reclaimed a job whose worker stopped responding",
                        {{"job_id", job.message.job_id}, {"delivery_count", job.delivery_count}, {"consumer", consumer}});
        }
      }
      if (batch.empty()) batch = co_await jobs_->read(consumer, 1, read_block);
    } catch (const queue::error& e) {
      failure = e.what();
    } catch (const db::error& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      read_warning.log("reading jobs failed, retrying", failure);
      co_await pause(1s);
      continue;
    }
    for (const auto& job : batch) {
      // An acknowledgement or dead-letter write can still fail with Redis
      // down. The message then stays pending and is reclaimed later, and the
      // consumer must live on instead of ending its coroutine.
      std::string process_error;
      try {
        co_await process(job, consumer);
      } catch (const std::exception& e) {
        process_error = e.what();
      }
      if (!process_error.empty()) {
        obs::log_error(logger, {job.message.request_id, {}, {}}, "job processing failed, leaving the message pending",
                       {{"job_id", job.message.job_id}, {"error", process_error}});
      }
    }
  }
  obs::log_info(logger, {}, "consumer stopped", {{"consumer", consumer}});
}

asio::awaitable<void> job_runner::process(const queue::delivery& job, std::string_view consumer) {
  running_guard running(running_);
  const auto started = steady_clock::now();
  auto span = queue::start_process_span(options_.tracer, jobs_->names(), job, consumer);
  const auto trace = span.as_parent();
  const obs::log_context context{job.message.request_id, span.trace_id_hex(), span.span_id_hex()};
  const std::string& id = job.message.job_id;

  // The message's attempt counts retries only; the job row's attempts,
  // logged once the job is claimed, counts every run, crashed ones too.
  obs::log_info(logger, context, "job received",
                {{"job_id", id}, {"task_id", id}, {"job_type", job.message.job_type},
                 {"message_attempt", job.message.attempt}, {"delivery_count", job.delivery_count}});

  if (job.message.job_type != domain::export_job_type) {
    obs::log_error(logger, context, "unknown job type, moving the message to the dead-letter stream",
                   {{"job_id", id}, {"job_type", job.message.job_type}});
    span.set_attribute("error.type", "unknown_job_type");
    span.set_error("unknown job type");
    co_await jobs_->dead_letter(job.entry_id, job.message, "unknown job type", trace);
    co_return;
  }

  domain::claim_result claim;
  std::string claim_error;
  try {
    claim = co_await exports_.claim(id, trace);
  } catch (const db::error& e) {
    claim_error = e.what();
  }
  if (!claim_error.empty()) {
    // Not acknowledged: the message stays pending and is reclaimed later.
    obs::log_warning(logger, context, "could not claim the job, leaving it pending",
                     {{"job_id", id}, {"error", claim_error}});
    span.set_attribute("error.type", "claim_failed");
    span.set_error(claim_error);
    co_return;
  }

  switch (claim.outcome) {
    case domain::claim_outcome::missing:
      obs::log_warning(logger, context, "job row not found, acknowledging the message", {{"job_id", id}});
      co_await jobs_->ack(job.entry_id, trace);
      co_return;
    case domain::claim_outcome::finished:
      obs::log_info(logger, context, "job already finished, acknowledging the duplicate delivery",
                    {{"job_id", id}, {"state", claim.job.state}});
      co_await jobs_->ack(job.entry_id, trace);
      co_return;
    case domain::claim_outcome::busy:
      obs::log_info(logger, context, "job is running on another worker, leaving it pending", {{"job_id", id}});
      co_return;
    case domain::claim_outcome::started:
      break;
  }

  const int attempts = claim.job.attempts;
  if (metrics_) metrics_->count(job.message.job_type, "started");
  if (attempts > static_cast<int>(options_.max_attempts)) {
    // Earlier runs died without recording a failure (the worker crashed).
    co_await handle_failure(job, attempts,
                            "gave up after " + std::to_string(attempts - 1) +
                                " runs that did not finish (worker crashed or was killed)",
                            span);
    co_return;
  }

  domain::run_result result;
  std::string run_error;
  try {
    result = co_await exports_.run_export(claim.job, options_.export_batch_rows, trace);
  } catch (const std::exception& e) {
    run_error = e.what();
  }
  if (!run_error.empty()) {
    if (metrics_) metrics_->observe_duration(job.message.job_type, "failed", steady_clock::now() - started, span);
    co_await handle_failure(job, attempts, run_error, span);
    co_return;
  }
  if (result.outcome == domain::run_outcome::busy) {
    obs::log_info(logger, context, "job is running on another worker, leaving it pending", {{"job_id", id}});
    co_return;
  }

  // The result is committed, so the job has succeeded whatever the
  // acknowledgement does next; a failed ack only means a later duplicate.
  if (metrics_ && result.outcome == domain::run_outcome::succeeded) {
    metrics_->count(job.message.job_type, "succeeded");
    metrics_->observe_duration(job.message.job_type, "succeeded", steady_clock::now() - started, span);
  }
  obs::log_info(logger, context,
                result.outcome == domain::run_outcome::succeeded ? "job succeeded" : "job had already succeeded",
                {{"job_id", id}, {"task_id", id}, {"job_type", job.message.job_type}, {"attempt", attempts},
                 {"rows", result.rows}, {"bytes", result.bytes}, {"duration_ms", milliseconds_since(started)}});
  span.set_attribute("todo.export.rows", static_cast<std::int64_t>(result.rows));
  co_await jobs_->ack(job.entry_id, trace);
}

asio::awaitable<void> job_runner::handle_failure(const queue::delivery& job, int attempts, const std::string& error,
                                                 obs::active_span& span) {
  const obs::log_context context{job.message.request_id, span.trace_id_hex(), span.span_id_hex()};
  const auto trace = span.as_parent();
  span.set_attribute("error.type", "job_failed");
  span.set_error(error);
  const std::string& id = job.message.job_id;
  std::string bookkeeping_error;

  if (attempts < static_cast<int>(options_.max_attempts)) {
    auto delay = options_.retry_base_delay * (1LL << std::min(attempts - 1, 20));
    delay = std::min<std::chrono::milliseconds>(delay, max_retry_delay);
    try {
      co_await exports_.mark_retry(id, error, trace);
      co_await jobs_->retry_later(job, delay, trace);
    } catch (const std::exception& e) {
      bookkeeping_error = e.what();
    }
    if (bookkeeping_error.empty()) {
      if (metrics_) metrics_->count(job.message.job_type, "retried");
      obs::log_warning(logger, context, "job failed, retrying",
                       {{"job_id", id}, {"task_id", id}, {"job_type", job.message.job_type}, {"attempt", attempts},
                        {"retry_in_ms", delay.count()}, {"error", error}});
    }
  } else {
    try {
      co_await exports_.mark_failure(id, error, trace);
      co_await jobs_->dead_letter(job.entry_id, job.message, error, trace);
    } catch (const std::exception& e) {
      bookkeeping_error = e.what();
    }
    if (bookkeeping_error.empty()) {
      if (metrics_) metrics_->count(job.message.job_type, "failed");
      obs::log_error(logger, context, "job failed permanently, moved to the dead-letter stream",
                     {{"job_id", id}, {"task_id", id}, {"job_type", job.message.job_type}, {"attempt", attempts},
                      {"error", error}});
    }
  }

  if (!bookkeeping_error.empty()) {
    // The message stays pending, so the job is reclaimed and tried again
    // after the visibility timeout.
    obs::log_error(logger, context, "could not record the job failure, leaving the message pending",
                   {{"job_id", id}, {"attempt", attempts}, {"error", error}, {"bookkeeping_error", bookkeeping_error}});
  }
}

// NOTE: a job that waits in a backlog, or runs, longer than republish_after
// is published twice. The second delivery finds it finished or busy and is
// only acknowledged, but a long backlog grows by such duplicates.
asio::awaitable<void> job_runner::republish_lost_jobs() {
  const auto lost = co_await exports_.take_unpublished(options_.republish_after, republish_batch);
  for (const auto& job : lost) {
    queue::job_message message{job.id, std::string(domain::export_job_type), 1, job.traceparent, job.request_id};
    co_await jobs_->publish(message);
    obs::log_warning(logger, {job.request_id, {}, {}}, "published an unfinished job again because its message may be lost",
                     {{"job_id", job.id}, {"state", job.state}, {"idle_for_s_at_least", options_.republish_after.count()}});
  }
}

asio::awaitable<void> job_runner::maintain() {
  running_guard loop(active_loops_);
  throttled_warning queue_warning;
  throttled_warning database_warning;
  auto next_heartbeat = steady_clock::now();
  auto next_cleanup = steady_clock::now();
  auto next_republish = steady_clock::now();

  while (!stopping_) {
    std::string queue_failure;
    try {
      if (steady_clock::now() >= next_heartbeat) {
        co_await jobs_->heartbeat(options_.worker_id, heartbeat_ttl);
        next_heartbeat = steady_clock::now() + heartbeat_interval;
        if (metrics_) {
          metrics_->heartbeat_sent();
          metrics_->set_queue_depth(domain::export_job_type, co_await jobs_->depth());
        }
      }
      const auto promoted = co_await jobs_->promote_due(100);
      if (promoted > 0) obs::log_debug(logger, {}, "moved due retries to the stream", {{"count", promoted}});
    } catch (const queue::error& e) {
      queue_failure = e.what();
    }
    if (!queue_failure.empty()) queue_warning.log("queue maintenance failed, retrying", queue_failure);

    if (steady_clock::now() >= next_republish) {
      std::string republish_failure;
      try {
        co_await republish_lost_jobs();
      } catch (const std::exception& e) {
        republish_failure = e.what();
      }
      if (!republish_failure.empty()) database_warning.log("publishing lost jobs again failed", republish_failure);
      next_republish = steady_clock::now() + republish_interval;
    }

    if (steady_clock::now() >= next_cleanup) {
      std::string database_failure;
      try {
        const auto deleted = co_await exports_.delete_expired(options_.export_retention);
        if (deleted > 0) {
          obs::log_info(logger, {}, "deleted expired exports",
                        {{"count", deleted}, {"retention_h", options_.export_retention.count()}});
        }
        next_cleanup = steady_clock::now() + retention_interval;
      } catch (const db::error& e) {
        database_failure = e.what();
      }
      if (!database_failure.empty()) database_warning.log("deleting expired exports failed", database_failure);
    }
    co_await pause(1s);
  }
}

}  // namespace todo::worker
