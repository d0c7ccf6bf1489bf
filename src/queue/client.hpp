#pragma once

#include "queue/connection.hpp"
#include "queue/redis_url.hpp"
#include "queue/reply.hpp"

#include <boost/asio/any_io_executor.hpp>
#include "obs/tracer.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace todo::queue {

class client;

/// A connection borrowed from the client's pool. Returns it on destruction
/// on every path; a broken connection is closed instead of being returned.
class pooled_connection {
 public:
  pooled_connection() = default;
  pooled_connection(std::shared_ptr<client> owner, std::unique_ptr<connection> conn);
  pooled_connection(pooled_connection&&) noexcept = default;
  pooled_connection& operator=(pooled_connection&& other) noexcept;
  ~pooled_connection();

  connection& operator*() const noexcept { return *connection_; }
  connection* operator->() const noexcept { return connection_.get(); }

 private:
  void release() noexcept;

  std::shared_ptr<client> owner_;
  std::unique_ptr<connection> connection_;
};

/// NOTE: `timeout` bounds each step, not the whole call, so in the worst case
/// one command() waits for a connection, then connects, then runs the command,
/// and takes about three times `timeout`.
struct client_options {
  redis_url url;
  std::size_t size = 4;                     // maximum open connections, including blocked readers
  std::chrono::milliseconds timeout{2000};  // per connect, per command and per wait for a connection
};

/// Counters for readiness checks and, later, metrics.
struct client_stats {
  std::size_t in_use = 0;
  std::size_t idle = 0;
  std::size_t waiting = 0;
  bool available = true;  // false while Redis is unreachable
};

/// A bounded pool of connections to one Redis, shared by all threads of one
/// io_context. Connections are opened on demand, none at creation.
///
/// acquire() hands out an idle connection, opens a new one while below
/// `size`, or waits up to `timeout` for one to come back. When a connect
/// fails, the client is marked unavailable. From then on acquire() fails at
/// once with errc::unavailable instead of each call waiting for its own
/// connect to fail. A background task reconnects with capped exponential backoff
/// (100 ms doubling up to 5 s), and its first successful connect makes the
/// client available again. One warning is logged when Redis goes down and
/// one info line when it is back.
class client : public std::enable_shared_from_this<client> {
 public:
  static std::shared_ptr<client> create(boost::asio::any_io_executor executor, client_options options);

  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Throws queue::error: unavailable while Redis is marked down, timeout
  /// when no connection came back within `timeout`, shutting_down after
  /// close(), or the error of a failed connect (which also marks Redis down).
  boost::asio::awaitable<pooled_connection> acquire();

  /// Runs one command on a pooled connection with the client's timeout. An
  /// error reply is returned as a reply, as connection::command() does.
  boost::asio::awaitable<reply> command(command_args args);

  /// The same with its own timeout, for blocking commands such as
  /// XREADGROUP ... BLOCK, whose timeout must exceed the block time. The
  /// connection is held for the whole call, so the pool needs one connection
  /// per concurrent blocking call on top of those for other work.
  boost::asio::awaitable<reply> command(command_args args, std::chrono::milliseconds timeout);

  /// The same as a CLIENT span under `trace` (no span when it is empty).
  boost::asio::awaitable<reply> command(command_args args, const obs::trace_parent& trace);

  /// Runs several commands in one round trip on one pooled connection, as
  /// one span under `trace` when it is not empty.
  boost::asio::awaitable<std::vector<reply>> commands(std::vector<command_args> batch,
                                                      const obs::trace_parent& trace = {});

  /// Sends PING and returns true when the reply is PONG within the timeout.
  /// Returns false instead of throwing queue::error.
  boost::asio::awaitable<bool> ping();

  client_stats stats() const;
  std::chrono::milliseconds timeout() const noexcept;

  /// Registers a callback run on every change of availability: false when
  /// Redis is marked down, true when the reconnect succeeds. It runs on the
  /// thread that noticed the change, outside the client's lock, and must not
  /// block. Replaces an earlier callback, which may still be running on
  /// another thread, so a callback must own what it uses (capture a
  /// shared_ptr, not a reference to a local).
  void on_availability_change(std::function<void(bool available)> callback);

  /// Closes idle connections, stops the reconnect task and fails current and
  /// later acquire() calls with errc::shutting_down. Connections in use are
  /// closed when returned. Safe to call twice.
  void close();

 private:
  friend class pooled_connection;
  client(boost::asio::any_io_executor executor, client_options options);

  void give_back(std::unique_ptr<connection> conn) noexcept;

  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace todo::queue
