#pragma once

// Start-up steps shared by todo-web and todo-worker.

#include "config/env.hpp"
#include "config/web_config.hpp"
#include "db/error.hpp"
#include "obs/log.hpp"
#include "queue/error.hpp"
#include "queue/redis_url.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace todo::app {

/// Parses the broker URL, naming the variable it came from on error.
inline queue::redis_url parse_broker(const config::broker_setting& broker) {
  try {
    return queue::parse_redis_url(broker.url);
  } catch (const std::invalid_argument& e) {
    throw config::config_error(broker.variable, e.what());
  }
}

/// Awaits `step` until it succeeds, retrying with capped backoff (200 ms up
/// to 5 s) while PostgreSQL or Redis is not reachable yet, so a process can
/// start before its dependencies. Returns false when `stopping` is set, or
/// when `step` fails with an error that retrying cannot fix (a rejected
/// statement), which is logged.
template <typename Step>
boost::asio::awaitable<bool> retry_until_ready(std::string_view logger, std::string_view step_name,
                                               const std::atomic<bool>& stopping, Step step) {
  std::chrono::milliseconds delay{200};
  for (int attempt = 1; !stopping; ++attempt) {
    std::string failure;
    try {
      co_await step();
      co_return true;
    } catch (const db::error& e) {
      if (!e.is_transient()) {
        obs::log_error(logger, {}, "start-up step failed",
                       {{"step", step_name}, {"error", e.what()}, {"sqlstate", e.sqlstate()}});
        co_return false;
      }
      failure = e.what();
    } catch (const queue::error& e) {
      failure = e.what();
    }
    obs::log_warning(logger, {}, "dependency not reachable at start, retrying",
                     {{"step", step_name}, {"attempt", attempt}, {"retry_in_ms", delay.count()}, {"error", failure}});
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
    co_await timer.async_wait(boost::asio::use_awaitable);
    delay = std::min(delay * 2, std::chrono::milliseconds{5000});
  }
  co_return false;
}

}  // namespace todo::app
