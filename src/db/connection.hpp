#pragma once

#include "db/result.hpp"
#include "obs/tracer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace todo::db {

/// Parameters of a statement in text form; nullopt is SQL NULL.
using params = std::vector<std::optional<std::string>>;

/// One PostgreSQL connection driven by libpq's non-blocking API on an Asio
/// executor. No call blocks the thread: every wait is a co_await on the
/// socket. Not thread-safe: one coroutine uses it at a time (the pool
/// guarantees this).
class connection {
 public:
  /// Connects with PQconnectStartParams/PQconnectPoll. Throws db::error
  /// (unavailable or timeout) when connecting fails or exceeds `timeout`.
  /// A non-zero `statement_timeout` is sent as the server's statement_timeout
  /// setting, so the server also abandons statements the client gave up on;
  /// application_name defaults to "todo" unless `conninfo` sets it.
  static boost::asio::awaitable<std::unique_ptr<connection>> connect(
      boost::asio::any_io_executor executor, const std::string& conninfo,
      std::chrono::milliseconds timeout,
      std::chrono::milliseconds statement_timeout = std::chrono::milliseconds::zero());

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Runs one statement with parameters. The statement is prepared on first
  /// use on this connection and cached by its SQL text. Throws db::error:
  /// query_failed with the SQLSTATE when the server rejects it, timeout after
  /// `timeout` (the connection is then broken and must be discarded), or
  /// unavailable when the connection drops.
  boost::asio::awaitable<result> query(std::string_view sql, const params& parameters,
                                       std::chrono::milliseconds timeout);

  /// Runs SQL text without parameters through the simple query protocol;
  /// it may hold several statements (used by migrations and BEGIN/COMMIT).
  boost::asio::awaitable<void> execute(std::string_view sql, std::chrono::milliseconds timeout);

  /// Makes every later query() and execute() a CLIENT span under `parent`,
  /// until another parent is set. An empty parent stops the spans. The pool
  /// sets it for each borrower and clears it when the connection comes back.
  void set_trace_parent(const obs::trace_parent& parent) noexcept;

  /// False once a timeout or a socket error has left the connection unusable.
  bool healthy() const noexcept;

  /// True when no transaction is open (PQTRANS_IDLE).
  bool idle_in_transaction_block() const noexcept;

  /// True inside a transaction that an error has aborted (PQTRANS_INERROR):
  /// a COMMIT would only roll it back.
  bool in_failed_transaction() const noexcept;

  /// For a connection that sat idle: reads, without blocking, whatever the
  /// server sent meanwhile (such as the notice of a server shutdown) and
  /// returns healthy(). Used by the pool before handing out an idle connection.
  bool refresh_status() noexcept;

  /// Closes the connection now; healthy() is false afterwards, so the pool
  /// discards it instead of reusing it.
  void close() noexcept;

 private:
  connection(boost::asio::any_io_executor executor, PGconn* handle);

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace todo::db
