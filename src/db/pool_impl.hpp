#pragma once

// The template part of db/pool.hpp, which includes this file at its end.

#include "db/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace todo::db {

namespace detail {

/// Borrows a connection and runs BEGIN on it. When a reused connection turns
/// out dead, the idle connections are dropped and BEGIN is tried once more on
/// a fresh one (nothing has run yet, so this is always safe).
boost::asio::awaitable<pooled_connection> begin_transaction(pool& owner, const obs::trace_parent& trace);

/// COMMIT. When the body swallowed an error, the transaction is already
/// aborted and COMMIT would silently roll it back: it is rolled back and
/// db::error query_failed (SQLSTATE 25P02) is thrown instead.
boost::asio::awaitable<void> commit_transaction(pooled_connection& conn, std::chrono::milliseconds timeout);

/// ROLLBACK. Never throws: when ROLLBACK fails the connection is closed, so
/// the pool discards it instead of reusing it.
boost::asio::awaitable<void> rollback_transaction(pooled_connection& conn, std::chrono::milliseconds timeout);

template <typename Awaitable>
struct awaitable_value;

template <typename T, typename Executor>
struct awaitable_value<boost::asio::awaitable<T, Executor>> {
  using type = T;
};

}  // namespace detail

template <typename Body>
auto with_transaction(pool& owner, obs::trace_parent trace, Body body)
    -> decltype(body(std::declval<connection&>())) {
  using value_type = typename detail::awaitable_value<decltype(body(std::declval<connection&>()))>::type;

  pooled_connection conn = co_await detail::begin_transaction(owner, trace);
  // No co_await may appear inside a handler: remember the failure, roll back
  // after the handler, then rethrow.
  std::exception_ptr failure;
  if constexpr (std::is_void_v<value_type>) {
    try {
      co_await body(*conn);
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure) {
      co_await detail::commit_transaction(conn, owner.timeout());
      co_return;
    }
    co_await detail::rollback_transaction(conn, owner.timeout());
    std::rethrow_exception(failure);
  } else {
    std::optional<value_type> value;
    try {
      value.emplace(co_await body(*conn));
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure) {
      co_await detail::commit_transaction(conn, owner.timeout());
      co_return std::move(*value);
    }
    co_await detail::rollback_transaction(conn, owner.timeout());
    std::rethrow_exception(failure);
  }
}

}  // namespace todo::db
