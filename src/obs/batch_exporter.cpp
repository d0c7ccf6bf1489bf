#include "obs/batch_exporter.hpp"

#include "obs/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace todo::obs {

namespace {

namespace asio = boost::asio;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view logger = "todo.tracing";
constexpr std::string_view scope_name = "todo";
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr auto first_retry_delay = 1s;
// A Retry-After of 0 would make the exporter hammer a collector that is
// already overloaded, so retries wait at least this long.
constexpr auto min_retry_delay = 1s;
constexpr int max_attempts = 6;
constexpr auto max_retry_delay = 30s;
// A dead collector would otherwise write one warning per batch.
constexpr auto warning_interval = 10s;
// After the shutdown timeout, how long the export thread gets to notice the
// cancelled exchange before it is stopped outright.
constexpr auto abort_grace = 1s;

std::chrono::milliseconds jittered(std::chrono::milliseconds delay) {
  thread_local std::minstd_rand engine{std::random_device{}()};
  std::uniform_int_distribution<long long> spread(delay.count() / 2, delay.count());
  return std::chrono::milliseconds(spread(engine));
}

}  // namespace

struct batch_exporter::state {
  state(batch_exporter_options opts, registry* metrics)
      : options(std::move(opts)),
        work(asio::make_work_guard(io)),
        wake_timer(io),
        retry_timer(io),
        client(io.get_executor(), options.endpoint) {
    if (metrics != nullptr) {
      exported_counter = &metrics->add_counter("trace_spans_exported_total",
                                               "Spans the collector accepted.").with({});
      auto& dropped = metrics->add_counter("trace_spans_dropped_total",
                                           "Spans lost: queue_full (the export queue was full), export_failed "
                                           "(the collector refused them or could not be reached), shutdown "
                                           "(still queued when the process stopped).",
                                           {"reason"});
      dropped_queue_full_counter = &dropped.with({"queue_full"});
      dropped_export_failed_counter = &dropped.with({"export_failed"});
      dropped_shutdown_counter = &dropped.with({"shutdown"});
    }
  }

  batch_exporter_options options;

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::steady_timer wake_timer;
  asio::steady_timer retry_timer;
  otlp_http_client client;
  std::thread thread;

  std::mutex mutex;  // guards queue, accepting, stopping, shutdown_deadline, finished
  std::condition_variable finished_changed;
  std::vector<span> queue;
  bool accepting = true;
  bool stopping = false;
  bool finished = false;
  steady_clock::time_point shutdown_deadline = steady_clock::time_point::max();
  std::atomic<bool> wake_pending{false};
  steady_clock::time_point resume_at{};  // export thread only: no export before this time
  std::atomic<bool> aborting{false};
  bool started = false;
  bool shut_down = false;

  std::atomic<std::uint64_t> exported{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> dropped_export_failed{0};
  std::atomic<std::uint64_t> dropped_shutdown{0};
  counter* exported_counter = nullptr;
  counter* dropped_queue_full_counter = nullptr;
  counter* dropped_export_failed_counter = nullptr;
  counter* dropped_shutdown_counter = nullptr;

  // Drops not yet reported in a warning, by reason, and the last export
  // failure. Request threads add queue_full drops, so a mutex guards them;
  // it is taken only when spans are dropped.
  std::mutex warning_mutex;
  std::uint64_t unreported_queue_full = 0;
  std::uint64_t unreported_export_failed = 0;
  std::uint64_t unreported_shutdown = 0;
  std::string last_export_error;
  steady_clock::time_point next_warning{};

  void count_drop(std::atomic<std::uint64_t>& total, counter* metric, std::size_t count, std::string_view reason,
                  std::string_view detail) noexcept {
    total += count;
    if (metric != nullptr) metric->inc(static_cast<double>(count));
    try {
      std::lock_guard lock(warning_mutex);
      if (reason == "queue_full") unreported_queue_full += count;
      if (reason == "export_failed") unreported_export_failed += count;
      if (reason == "shutdown") unreported_shutdown += count;
      if (reason == "export_failed") last_export_error = std::string(detail);
      const auto now = steady_clock::now();
      if (now < next_warning) return;
      next_warning = now + warning_interval;
      log_warning(logger, {}, "trace spans dropped",
                  {{"queue_full", std::exchange(unreported_queue_full, 0)},
                   {"export_failed", std::exchange(unreported_export_failed, 0)},
                   {"shutdown", std::exchange(unreported_shutdown, 0)},
                   {"last_export_error", last_export_error},
                   {"endpoint", options.endpoint.host_header}});
    } catch (...) {
      // Only the warning is lost; the counters above are already updated.
    }
  }

  std::vector<span> take_batch() {
    std::lock_guard lock(mutex);
    const auto count = std::min(queue.size(), options.max_export_batch_size);
    std::vector<span> batch;
    batch.reserve(count);
    std::move(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(count), std::back_inserter(batch));
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(count));
    return batch;
  }

  steady_clock::time_point batch_deadline() {
    auto deadline = steady_clock::now() + options.export_timeout;
    std::lock_guard lock(mutex);
    return std::min(deadline, shutdown_deadline);
  }

  asio::awaitable<void> export_batch(std::vector<span> batch) {
    const auto body = encode_export_request(options.resource, scope_name, options.scope_version, batch);
    const auto deadline = batch_deadline();
    auto backoff = std::chrono::milliseconds(first_retry_delay);
    std::string failure;

    for (int attempt = 1; !aborting; ++attempt) {
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
      if (remaining <= 0ms) {
        failure = "export timeout passed while retrying";
        break;
      }
      const auto response = co_await client.post(body, std::min(options.request_timeout, remaining));
      if (response.status / 100 == 2) {
        exported += batch.size();
        if (exported_counter != nullptr) exported_counter->inc(static_cast<double>(batch.size()));
        co_return;
      }
      failure = response.status == 0 ? response.error
                                     : "collector answered " + std::to_string(response.status) +
                                           (response.error.empty() ? "" : ": " + response.error);
      if (!is_retryable_status(response.status)) break;

      auto delay = response.retry_after ? std::chrono::milliseconds(*response.retry_after) : jittered(backoff);
      delay = std::max<std::chrono::milliseconds>(delay, min_retry_delay);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_retry_delay);
      // The collector's wish to be left alone holds for later batches too.
      resume_at = steady_clock::now() + delay;
      if (attempt >= max_attempts || resume_at >= deadline) break;
      log_debug(logger, {}, "trace export will be retried",
                {{"status", response.status}, {"retry_in_ms", delay.count()}, {"spans", batch.size()}});
      retry_timer.expires_after(delay);
      co_await retry_timer.async_wait(use_tuple);
    }
    if (aborting && failure.empty()) failure = "shutdown timeout passed";
    count_drop(dropped_export_failed, dropped_export_failed_counter, batch.size(), "export_failed", failure);
  }

  asio::awaitable<void> run() {
    for (;;) {
      bool stop_now = false;
      bool batch_ready = false;
      {
        std::lock_guard lock(mutex);
        stop_now = stopping;
        batch_ready = queue.size() >= options.max_export_batch_size;
      }
      if (!stop_now && !batch_ready) {
        wake_timer.expires_after(options.schedule_delay);
        co_await wake_timer.async_wait(use_tuple);
      }
      wake_pending = false;

      auto batch = take_batch();
      if (batch.empty()) {
        std::lock_guard lock(mutex);
        if (stopping) break;
        continue;
      }
      if (aborting) {
        count_drop(dropped_shutdown, dropped_shutdown_counter, batch.size(), "shutdown", "shutdown timeout passed");
        continue;
      }
      if (steady_clock::now() < resume_at && !stop_now) {
        // Spans keep queueing meanwhile, and the queue limit drops the excess.
        retry_timer.expires_at(resume_at);
        co_await retry_timer.async_wait(use_tuple);
      }
      co_await export_batch(std::move(batch));
    }
    client.close();
    std::lock_guard lock(mutex);
    finished = true;
    finished_changed.notify_all();
  }
};

batch_exporter::batch_exporter(batch_exporter_options options, registry* metrics)
    : state_(std::make_shared<state>(std::move(options), metrics)) {}

batch_exporter::~batch_exporter() { shutdown(0ms); }

void batch_exporter::start() {
  auto& s = *state_;
  if (s.started) return;
  s.started = true;
  asio::co_spawn(s.io, s.run(), asio::detached);
  s.thread = std::thread([&s] {
    try {
      s.io.run();
    } catch (const std::exception& e) {
      log_error(logger, {}, "trace export thread failed", {{"error", e.what()}});
    }
  });
  log_info(logger, {}, "trace exporter started",
           {{"endpoint", s.options.endpoint.host_header},
            {"target", s.options.endpoint.target},
            {"max_queue_size", s.options.max_queue_size},
            {"schedule_delay_ms", s.options.schedule_delay.count()}});
}

void batch_exporter::on_end(span&& finished) noexcept {
  auto& s = *state_;
  bool wake = false;
  bool dropped = false;
  bool closed = false;
  try {
    std::lock_guard lock(s.mutex);
    if (!s.accepting) {
      closed = true;
    } else if (s.queue.size() >= s.options.max_queue_size) {
      dropped = true;
    } else {
      s.queue.push_back(std::move(finished));
      wake = s.queue.size() >= s.options.max_export_batch_size && !s.wake_pending.exchange(true);
    }
  } catch (...) {
    dropped = true;
  }
  if (closed) {
    // A span that ends after shutdown, such as one of a request cut off by
    // the drain timeout, has nowhere to go.
    s.dropped_shutdown += 1;
    if (s.dropped_shutdown_counter != nullptr) s.dropped_shutdown_counter->inc();
    return;
  }
  if (dropped) {
    s.count_drop(s.dropped_queue_full, s.dropped_queue_full_counter, 1, "queue_full",
                 "the export queue is full; the collector is slow or unreachable");
    return;
  }
  if (wake) {
    auto keep = state_;
    asio::post(s.io, [keep] { keep->wake_timer.cancel(); });
  }
}

void batch_exporter::shutdown(std::chrono::milliseconds timeout) noexcept {
  auto& s = *state_;
  if (s.shut_down) return;
  s.shut_down = true;
  if (!s.started) return;

  const auto started = steady_clock::now();
  const auto dropped_total = [&s] {
    return s.dropped_queue_full.load() + s.dropped_export_failed.load() + s.dropped_shutdown.load();
  };
  const auto exported_before = s.exported.load();
  const auto dropped_before = dropped_total();
  std::size_t queued = 0;
  {
    std::lock_guard lock(s.mutex);
    s.accepting = false;
    s.stopping = true;
    s.shutdown_deadline = started + timeout;
    queued = s.queue.size();
  }
  auto keep = state_;
  asio::post(s.io, [keep] {
    keep->wake_timer.cancel();
    keep->retry_timer.cancel();
  });

  std::unique_lock lock(s.mutex);
  bool clean = s.finished_changed.wait_for(lock, timeout, [&s] { return s.finished; });
  if (!clean) {
    // The collector did not respond in time, so the exchange in progress is cut.
    s.aborting = true;
    lock.unlock();
    asio::post(s.io, [keep] {
      keep->client.close();
      keep->retry_timer.cancel();
      keep->wake_timer.cancel();
    });
    lock.lock();
    s.finished_changed.wait_for(lock, abort_grace, [&s] { return s.finished; });
  }
  lock.unlock();

  s.work.reset();
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();

  std::size_t left = 0;
  {
    std::lock_guard guard(s.mutex);
    left = s.queue.size();
    s.queue.clear();
  }
  if (left > 0) s.count_drop(s.dropped_shutdown, s.dropped_shutdown_counter, left, "shutdown", "shutdown timeout passed");

  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started);
  log_info(logger, {}, "trace exporter stopped",
           {{"queued_at_shutdown", queued},
            {"exported_at_shutdown", s.exported.load() - exported_before},
            {"dropped_at_shutdown", dropped_total() - dropped_before},
            {"exported_total", s.exported.load()},
            {"dropped_total", dropped_total()},
            {"duration_ms", elapsed.count()}});
}

batch_exporter_stats batch_exporter::stats() const noexcept {
  const auto& s = *state_;
  return {s.exported.load(), s.dropped_queue_full.load(), s.dropped_export_failed.load(), s.dropped_shutdown.load()};
}

}  // namespace todo::obs
