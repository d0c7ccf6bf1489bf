#pragma once

#include "db/connection.hpp"
#include "obs/metrics.hpp"
#include "db/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace todo::db {

class pool;

/// A connection borrowed from the pool. Returns it on destruction on every
/// path; a connection that is broken or left inside a transaction is closed
/// instead of being returned.
class pooled_connection {
 public:
  pooled_connection() = default;
  pooled_connection(std::shared_ptr<pool> owner, std::unique_ptr<connection> conn);
  pooled_connection(pooled_connection&&) noexcept = default;
  pooled_connection& operator=(pooled_connection&&) noexcept;
  ~pooled_connection();

  connection& operator*() const noexcept { return *connection_; }
  connection* operator->() const noexcept { return connection_.get(); }
  explicit operator bool() const noexcept { return connection_ != nullptr; }

  /// True when the connection came from the idle list, so it may have died
  /// while it sat there; false for one opened for this borrower.
  bool reused() const noexcept { return reused_; }

 private:
  friend class pool;
  void release() noexcept;

  std::shared_ptr<pool> owner_;
  std::unique_ptr<connection> connection_;
  bool reused_ = false;
};

struct pool_options {
  std::string conninfo;                     // libpq URI, may hold a password: never log it
  std::size_t size = 10;                    // maximum open connections
  std::chrono::milliseconds timeout{5000};  // per connect, per query and per wait for a connection;
                                            // also the server-side statement_timeout of each connection
  obs::histogram* wait_seconds = nullptr;   // observes each acquire()'s wait in seconds; may be null
};

/// Counters for /readyz and, later, metrics.
struct pool_stats {
  std::size_t in_use = 0;
  std::size_t idle = 0;
  std::size_t waiting = 0;
  bool available = true;  // false while PostgreSQL is unreachable
};

/// A bounded pool of connections shared by all threads of the io_context.
///
/// acquire() hands out an idle connection, opens a new one while below
/// `size`, or waits up to `timeout` for one to come back. While PostgreSQL is
/// unreachable, acquire() fails at once with errc::unavailable and a
/// background task reconnects with capped exponential backoff (100 ms up to
/// 5 s); the first successful connect makes the pool available again.
class pool : public std::enable_shared_from_this<pool> {
 public:
  static std::shared_ptr<pool> create(boost::asio::any_io_executor executor, pool_options options);

  boost::asio::awaitable<pooled_connection> acquire();

  /// Runs `sql` on a pooled connection: a shortcut for single statements.
  /// When the connection had sat idle and turns out dead (errc::unavailable),
  /// the idle connections are dropped and the statement is tried once more
  /// on a fresh connection; a connection opened for this call is not retried.
  /// With a non-empty `trace`, the statement is a CLIENT span under it.
  boost::asio::awaitable<result> query(std::string_view sql, const params& parameters = {},
                                       const obs::trace_parent& trace = {});

  /// Checks that PostgreSQL answers "SELECT 1" within the timeout.
  boost::asio::awaitable<bool> ping();

  pool_stats stats() const;
  std::chrono::milliseconds timeout() const noexcept;

  /// Closes every idle connection. Used after a reused connection turned out
  /// dead on first use: the others sat idle as long and are suspect too.
  void discard_idle() noexcept;

  /// Closes idle connections and fails current and later acquire() calls with
  /// errc::shutting_down. Connections in use are closed when returned.
  void close();

  ~pool();

 private:
  friend class pooled_connection;
  pool(boost::asio::any_io_executor executor, pool_options options);
  void give_back(std::unique_ptr<connection> conn) noexcept;
  void connect_failed(const error& failure) noexcept;

  struct state;
  std::unique_ptr<state> state_;
};

/// Runs `body(connection&)` inside BEGIN ... COMMIT, rolling back when it throws.
/// The body must be a coroutine returning awaitable<T>. With a non-empty
/// `trace`, every statement, BEGIN and COMMIT included, is a span under it.
template <typename Body>
auto with_transaction(pool& owner, obs::trace_parent trace, Body body)
    -> decltype(body(std::declval<connection&>()));

template <typename Body>
auto with_transaction(pool& owner, Body body) -> decltype(body(std::declval<connection&>())) {
  return with_transaction(owner, obs::trace_parent{}, std::move(body));
}

}  // namespace todo::db

#include "db/pool_impl.hpp"
