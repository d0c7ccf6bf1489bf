#pragma once

#include "queue/redis_url.hpp"
#include "queue/reply.hpp"
#include "queue/resp.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace todo::queue {

/// One Redis connection on an Asio executor. No call blocks the thread: the
/// host name is resolved with Asio's resolver and every socket wait is a
/// co_await. Not thread-safe: one coroutine uses it at a time (the client's
/// pool guarantees this), and a second concurrent call throws std::logic_error.
///
/// An error reply is returned as a reply of type error, not thrown, so that a
/// pipeline or a MULTI/EXEC can report which command failed. The accessors
/// reply::as_*() and throw_if_error() turn it into errc::server_error. Everything else
/// that fails is thrown as queue::error: unavailable when the socket fails
/// or the server closes it, timeout after the call's deadline, and
/// protocol_error for bytes that are not RESP. After any of these the
/// connection is broken (healthy() is false) and must be discarded, because
/// replies still on the way would be read as the answer to the next command.
/// Cancelling the calling coroutine also breaks it and rethrows
/// boost::system::system_error(operation_aborted).
class connection {
 public:
  /// Resolves the host, connects, then sends AUTH and SELECT in one round
  /// trip. AUTH is sent when the URL has a password, with the user name when
  /// it has one. The whole sequence must finish within `timeout`. Throws
  /// queue::error: unavailable or timeout when Redis cannot be reached,
  /// server_error when it rejects the password or the database number.
  static boost::asio::awaitable<std::unique_ptr<connection>> connect(boost::asio::any_io_executor executor,
                                                                      const redis_url& url,
                                                                      std::chrono::milliseconds timeout);

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Sends one command and returns its reply. A blocking command (BLPOP,
  /// XREADGROUP ... BLOCK) needs a timeout longer than its block time.
  boost::asio::awaitable<reply> command(command_args args, std::chrono::milliseconds timeout);

  /// Sends several commands in one write and returns their replies in order:
  /// one round trip instead of one per command. `timeout` covers them all.
  boost::asio::awaitable<std::vector<reply>> commands(std::vector<command_args> batch,
                                                      std::chrono::milliseconds timeout);

  /// False once a timeout, a socket error or a protocol error has left the
  /// connection unusable, or after close().
  bool healthy() const noexcept;

  /// For a connection that sat idle: checks without blocking whether the
  /// server closed it (Redis closes every client when it shuts down) and
  /// returns healthy(). Unexpected bytes also break it. Used by the pool
  /// before handing out an idle connection.
  bool refresh_status() noexcept;

  /// Closes the socket now; healthy() is false afterwards.
  void close() noexcept;

  /// A number unique in this process, for log lines.
  std::uint64_t id() const noexcept;

 private:
  explicit connection(boost::asio::any_io_executor executor);

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace todo::queue
