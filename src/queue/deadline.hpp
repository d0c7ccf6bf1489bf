#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace todo::queue {

namespace detail {

// Races `operation` against a timer with a parallel group. It must run on a
// strand, for the reason given at run_with_deadline().
template <typename T>
boost::asio::awaitable<std::optional<T>> race_timer(boost::asio::awaitable<T> operation,
                                                    std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);

  auto [order, failure, value, timer_error] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(operation), asio::deferred),
                                                       timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);

  if (order[0] == 0) {
    if (failure) std::rethrow_exception(failure);
    co_return std::optional<T>(std::move(value));
  }

  // The timer reports an error only when the caller's coroutine was cancelled.
  if (timer_error) throw boost::system::system_error(timer_error);
  co_return std::nullopt;
}

inline boost::asio::awaitable<bool> race_timer(boost::asio::awaitable<void> operation,
                                               std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, timeout);

  auto [order, failure, timer_error] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, std::move(operation), asio::deferred),
                                                       timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);

  if (order[0] == 0) {
    if (failure) std::rethrow_exception(failure);
    co_return true;
  }

  if (timer_error) throw boost::system::system_error(timer_error);
  co_return false;
}

}  // namespace detail

/// Runs `operation` until it finishes or `timeout` passes, whichever comes
/// first, and cancels the other. Returns nullopt on timeout and rethrows the
/// operation's exception as soon as it fails.
///
/// The race is a parallel group with wait_for_one instead of the `||` of
/// awaitable_operators, because in Boost 1.81 `||` waits for the first
/// success, so a socket error would only surface when the timer fires. The
/// group runs on a strand of its own, because Boost 1.81's parallel group
/// registers its cancellation handler only after starting the operations.
/// On an io_context run by several threads, the group could otherwise finish
/// on another thread first, and the registration would then touch freed
/// memory. ThreadSanitizer reported this race in the queue tests.
template <typename T>
boost::asio::awaitable<std::optional<T>> run_with_deadline(boost::asio::awaitable<T> operation,
                                                           std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  const auto strand = asio::make_strand(co_await asio::this_coro::executor);
  co_return co_await asio::co_spawn(strand, detail::race_timer(std::move(operation), timeout), asio::use_awaitable);
}

/// The same for an operation without a result: returns false on timeout.
inline boost::asio::awaitable<bool> run_with_deadline(boost::asio::awaitable<void> operation,
                                                      std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  const auto strand = asio::make_strand(co_await asio::this_coro::executor);
  co_return co_await asio::co_spawn(strand, detail::race_timer(std::move(operation), timeout), asio::use_awaitable);
}

}  // namespace todo::queue
