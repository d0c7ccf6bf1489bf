// todo-worker: runs background export jobs from the Redis stream until
// SIGTERM or SIGINT, and serves /metrics and /healthz on METRICS_PORT.

#include "startup.hpp"
#include "telemetry.hpp"
#include "tracing.hpp"

#include "config/database_url.hpp"
#include "config/worker_config.hpp"
#include "db/migrate.hpp"
#include "db/pool.hpp"
#include "db/pool_metrics.hpp"
#include "http/metrics_endpoint.hpp"
#include "http/responses.hpp"
#include "http/server.hpp"
#include "obs/log.hpp"
#include "queue/client.hpp"
#include "queue/error.hpp"
#include "queue/job_stream.hpp"
#include "queue/redis_url.hpp"
#include "worker/job_runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

namespace asio = boost::asio;

namespace {

constexpr std::string_view logger = "todo.worker";

std::shared_ptr<todo::http::router> health_routes(std::shared_ptr<todo::worker::job_runner> runner,
                                                  std::string worker_id,
                                                  std::shared_ptr<const todo::obs::registry> metrics) {
  auto routes = std::make_shared<todo::http::router>();
  routes->add(boost::beast::http::verb::get, "/metrics", "metrics", todo::http::metrics_handler(std::move(metrics)));
  routes->add(boost::beast::http::verb::get, "/healthz", "health_check",
              [runner, worker_id](const todo::http::request& req,
                                  todo::http::request_context&) -> asio::awaitable<todo::http::response> {
                boost::json::object body{{"status", "healthy"},
                                         {"worker_id", worker_id},
                                         {"running_jobs", runner->running()}};
                co_return todo::http::json_response(req, boost::beast::http::status::ok, body);
              });
  return routes;
}

}  // namespace

int main() {
  todo::config::worker_config config;
  todo::queue::redis_url broker;
  todo::app::tracing_plan tracing_plan;
  try {
    config = todo::config::load_worker_config(todo::config::env::from_process());
    broker = todo::app::parse_broker(config.broker);
    tracing_plan = todo::app::plan_tracing(config.tracing);
  } catch (const todo::config::config_error& e) {
    // The logger is not running yet, so this one message goes to stderr.
    std::cerr << "todo-worker: invalid configuration: " << e.what() << '\n';
    return 2;
  }

  todo::obs::start_logging(todo::obs::parse_log_level(config.log_level).value_or(todo::obs::log_level::info));
  todo::obs::log_info(logger, {}, "starting todo-worker",
                      {{"version", TODO_VERSION},
                       {"environment", config.app_env},
                       {"worker_id", config.worker_id},
                       {"concurrency", config.concurrency},
                       {"metrics_port", config.metrics_port},
                       {"broker", broker.endpoint()},
                       {"tracing", tracing_plan.enabled},
                       {"database_url", todo::config::redact_database_url(config.database_url)}});

  const unsigned thread_count = std::clamp(config.concurrency, 1u, std::max(1u, std::thread::hardware_concurrency()));
  // Declared before the io_context so that it outlives every span that
  // coroutines destroyed with the io_context may still hold.
  auto metrics = todo::app::make_metrics_registry();
  todo::app::tracing_runtime tracing(tracing_plan, *metrics);
  asio::io_context io(static_cast<int>(thread_count));

  auto database = todo::db::pool::create(
      io.get_executor(), todo::db::pool_options{config.database_url, config.db_pool_size, config.db_timeout,
                                                &todo::db::add_pool_wait_histogram(*metrics)});
  todo::db::add_pool_collector(*metrics, database);
  // Each consumer holds one connection during its blocking read, so the pool
  // needs one per consumer plus some for acknowledgements and maintenance.
  auto redis = todo::queue::client::create(
      io.get_executor(), todo::queue::client_options{broker, config.concurrency + 3, config.redis_timeout});
  auto jobs = std::make_shared<todo::queue::job_stream>(redis);
  auto job_metrics = std::make_shared<todo::worker::job_metrics>(*metrics, config.app_env, config.worker_id);
  auto runner_options = todo::worker::job_runner_options::from(config);
  runner_options.tracer = tracing.tracer();
  auto runner = std::make_shared<todo::worker::job_runner>(database, jobs, runner_options, job_metrics);

  todo::http::server_options server_options;
  server_options.endpoint = {asio::ip::make_address(config.bind_address), config.metrics_port};
  server_options.environment = config.app_env;
  server_options.metrics = std::make_shared<todo::http::request_metrics>(*metrics, config.app_env);
  auto server =
      std::make_shared<todo::http::server>(io, server_options, health_routes(runner, config.worker_id, metrics));

  std::atomic<bool> stopping{false};
  std::atomic<bool> serving{false};
  std::atomic<int> exit_code{0};

  auto finish = [&] {
    database->close();
    redis->close();
    todo::obs::log_info(logger, {}, "todo-worker stopped", {{"exit_code", exit_code.load()}});
    io.stop();
  };

  // Waits for running jobs to end (up to the shutdown timeout), then stops
  // the health server and the process. A job cut off here was never
  // acknowledged, so another worker reclaims it after the visibility timeout.
  auto drain = [&]() -> asio::awaitable<void> {
    const auto deadline = std::chrono::steady_clock::now() + config.shutdown_timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (runner->active_loops() > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (runner->running() > 0) {
      todo::obs::log_warning(logger, {}, "shutdown timeout passed with jobs running; they will be reclaimed",
                             {{"running_jobs", runner->running()}});
    }
    server->shutdown(std::chrono::seconds(1), [&](std::size_t) { asio::post(io, finish); });
  };

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    stopping = true;
    runner->stop();
    todo::obs::log_info(logger, {}, "shutdown requested, finishing running jobs",
                        {{"signal", signal_number}, {"running_jobs", runner->running()},
                         {"timeout_s", config.shutdown_timeout.count()}});
    if (!serving) {
      asio::post(io, finish);
      return;
    }
    asio::co_spawn(io, drain, asio::detached);
  });

  // On a strand, as every coroutine that calls the database or Redis.
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> {
        const bool ready =
            co_await todo::app::retry_until_ready(logger, "migrations", stopping, [&]() -> asio::awaitable<void> {
              co_await todo::db::apply_migrations(*database, todo::db::embedded_migrations());
            }) &&
            co_await todo::app::retry_until_ready(logger, "consumer group", stopping, [&]() -> asio::awaitable<void> {
              co_await jobs->ensure_group();
            });
        if (!ready) {
          if (!stopping) {
            exit_code = 1;
            signals.cancel();
            finish();
          }
          co_return;
        }
        try {
          serving = true;
          server->start();
        } catch (const boost::system::system_error& e) {
          todo::obs::log_error(logger, {}, "cannot listen on the metrics port, check METRICS_PORT",
                               {{"port", config.metrics_port}, {"error", e.what()}});
          exit_code = 1;
          signals.cancel();
          finish();
          co_return;
        }
        runner->start(io.get_executor());
      },
      asio::detached);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < thread_count; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();

  tracing.shutdown(todo::app::trace_flush_timeout(config.tracing));
  todo::obs::stop_logging();
  return exit_code.load();
}
