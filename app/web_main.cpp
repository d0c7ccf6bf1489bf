// todo-web: reads configuration, applies migrations, serves HTTP until SIGTERM or SIGINT.

#include "startup.hpp"
#include "telemetry.hpp"
#include "tracing.hpp"

#include "config/database_url.hpp"
#include "config/web_config.hpp"
#include "db/migrate.hpp"
#include "db/pool.hpp"
#include "db/pool_metrics.hpp"
#include "http/metrics_endpoint.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "obs/log.hpp"
#include "queue/client.hpp"
#include "queue/job_stream.hpp"
#include "queue/redis_url.hpp"
#include "todo/routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>

namespace asio = boost::asio;

namespace {

constexpr std::string_view logger = "todo.web";

// Raises the soft limit on open files to the hard limit, as servers usually
// do, and returns the limit now in force. Each client connection takes one.
std::size_t raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<std::size_t>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
}

// Keeps freed memory in the process instead of returning it to the kernel
// after every large free. Page responses and request buffers are tens of
// KiB each. With glibc's defaults (128 KiB trim threshold, a sliding mmap
// threshold) the arenas shrank and grew again every few requests, and perf
// showed the page faults. Keeping the memory cut the web's kernel time by
// about a third in one measurement (docs/benchmarks.md). Up to 8 MiB per
// arena stay reserved.
void tune_malloc() {
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 8 << 20);
  ::mallopt(M_TOP_PAD, 1 << 20);
}

}  // namespace

int main() {
  tune_malloc();
  todo::config::web_config config;
  todo::queue::redis_url broker;
  todo::app::tracing_plan tracing_plan;
  try {
    config = todo::config::load_web_config(todo::config::env::from_process());
    broker = todo::app::parse_broker(config.broker);
    tracing_plan = todo::app::plan_tracing(config.tracing);
  } catch (const todo::config::config_error& e) {
    // The logger is not running yet, so this one message goes to stderr.
    std::cerr << "todo-web: invalid configuration: " << e.what() << '\n';
    return 2;
  }

  todo::obs::start_logging(todo::obs::parse_log_level(config.log_level).value_or(todo::obs::log_level::info));
  todo::obs::log_info(logger, {}, "starting todo-web",
                      {{"version", TODO_VERSION},
                       {"environment", config.app_env},
                       {"port", config.port},
                       {"threads", config.web_threads},
                       {"db_pool_size", config.db_pool_size},
                       {"db_shared_read_limit", config.db_shared_read_limit},
                       {"broker", broker.endpoint()},
                       {"tracing", tracing_plan.enabled},
                       {"database_url", todo::config::redact_database_url(config.database_url)}});

  std::shared_ptr<const todo::http::static_files> static_files;
  try {
    static_files = std::make_shared<const todo::http::static_files>(config.static_dir);
  } catch (const std::exception& e) {
    todo::obs::log_error(logger, {}, "cannot load static files, check STATIC_DIR",
                         {{"static_dir", config.static_dir}, {"error", e.what()}});
    todo::obs::stop_logging();
    return 1;
  }

  // Declared before the io_context so that it outlives every span that
  // coroutines destroyed with the io_context may still hold.
  auto metrics = todo::app::make_metrics_registry();
  todo::app::tracing_runtime tracing(tracing_plan, *metrics);
  asio::io_context io(static_cast<int>(config.web_threads));
  auto database = todo::db::pool::create(
      io.get_executor(),
      todo::db::pool_options{config.database_url, config.db_pool_size, config.db_timeout,
                             config.metrics_enabled ? &todo::db::add_pool_wait_histogram(*metrics) : nullptr});
  todo::db::add_pool_collector(*metrics, database);

  // Redis is only needed by the export routes; connections open on first use.
  auto redis = todo::queue::client::create(io.get_executor(),
                                           todo::queue::client_options{broker, 4, config.redis_timeout});
  auto jobs = std::make_shared<todo::queue::job_stream>(redis);

  auto draining = std::make_shared<std::atomic<bool>>(false);
  auto routes = std::make_shared<todo::http::router>();
  todo::domain::register_routes(
      *routes, {database, static_files, redis, jobs, metrics, config.app_env, draining, config.db_shared_read_limit});
  routes->add(boost::beast::http::verb::get, "/metrics", "metrics", todo::http::metrics_handler(metrics));

  todo::http::server_options server_options;
  server_options.endpoint = {asio::ip::make_address(config.bind_address), config.port};
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.max_connections = std::min(config.max_connections, raise_file_limit() / 2);
  server_options.trusted_proxies = config.trusted_proxies;
  server_options.environment = config.app_env;
  // With METRICS_ENABLED=false, /metrics still serves the process metrics,
  // but requests and pool waits are not measured.
  if (config.metrics_enabled) {
    server_options.metrics = std::make_shared<todo::http::request_metrics>(*metrics, config.app_env);
  }
  server_options.tracing = {tracing.tracer(), {"health_check", "readiness_check", "metrics"}};
  auto server = std::make_shared<todo::http::server>(io, server_options, routes);

  std::atomic<bool> stopping{false};
  std::atomic<bool> serving{false};
  std::atomic<int> exit_code{0};

  auto finish = [&] {
    database->close();
    redis->close();
    todo::obs::log_info(logger, {}, "todo-web stopped", {{"exit_code", exit_code.load()}});
    io.stop();
  };

  auto drain = [&](int signal_number) {
    todo::obs::log_info(logger, {}, "shutdown requested, draining requests",
                        {{"signal", signal_number}, {"timeout_s", config.shutdown_timeout.count()}});
    server->shutdown(config.shutdown_timeout, [&](std::size_t remaining) {
      if (remaining > 0) {
        todo::obs::log_warning(logger, {}, "shutdown timeout passed with connections still open",
                               {{"open_connections", remaining}});
      }
      asio::post(io, finish);
    });
  };

  // With SHUTDOWN_DELAY_S, the first signal only makes /healthz and /readyz
  // return 503 while requests are served as before, so that a load balancer
  // stops sending new ones before the listener closes. The drain starts when
  // the delay ends or at a second signal. The signal set and the timer
  // share a strand, so their handlers never run at the same time.
  auto signal_strand = asio::make_strand(io);
  asio::signal_set signals(signal_strand, SIGINT, SIGTERM);
  asio::steady_timer delay_timer(signal_strand);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    if (stopping.exchange(true)) {
      if (delay_timer.cancel() > 0) {
        todo::obs::log_info(logger, {}, "second signal, ending the shutdown delay", {{"signal", signal_number}});
      }
      return;
    }
    if (!serving) {
      todo::obs::log_info(logger, {}, "shutdown requested before the server started", {{"signal", signal_number}});
      asio::post(io, finish);
      return;
    }
    if (config.shutdown_delay.count() == 0) {
      drain(signal_number);
      return;
    }

    draining->store(true);
    todo::obs::log_info(logger, {}, "shutdown requested, failing health checks before draining",
                        {{"signal", signal_number}, {"delay_s", config.shutdown_delay.count()}});
    delay_timer.expires_after(config.shutdown_delay);
    delay_timer.async_wait([&drain, signal_number](const boost::system::error_code&) { drain(signal_number); });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  // On a strand, as every coroutine that calls the database or Redis.
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> {
        const bool migrated = co_await todo::app::retry_until_ready(
            logger, "migrations", stopping, [&]() -> asio::awaitable<void> {
              co_await todo::db::apply_migrations(*database, todo::db::embedded_migrations());
            });
        if (!migrated) {
          if (!stopping) exit_code = 1;
          signals.cancel();
          finish();
          co_return;
        }
        if (stopping) co_return;
        try {
          serving = true;
          server->start();
        } catch (const boost::system::system_error& e) {
          todo::obs::log_error(logger, {}, "cannot listen, check PORT and BIND_ADDRESS",
                               {{"port", config.port}, {"bind_address", config.bind_address}, {"error", e.what()}});
          exit_code = 1;
          signals.cancel();
          finish();
        }
      },
      asio::detached);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < config.web_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();

  tracing.shutdown(todo::app::trace_flush_timeout(config.tracing));
  todo::obs::stop_logging();
  return exit_code.load();
}
