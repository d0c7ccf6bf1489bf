#pragma once

#include "config/cidr.hpp"
#include "http/request_metrics.hpp"
#include "http/router.hpp"
#include "http/server_span.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace todo::http {

struct server_options {
  boost::asio::ip::tcp::endpoint endpoint;
  std::size_t max_body_bytes = 64 * 1024;           // larger bodies get 413
  std::size_t max_header_bytes = 16 * 1024;         // larger headers get 431
  std::chrono::seconds header_timeout{10};          // to receive a full request header
  std::chrono::seconds body_timeout{30};            // to receive the body after the header
  std::chrono::seconds idle_timeout{60};            // keep-alive wait for the next request
  std::chrono::seconds write_timeout{30};           // with no progress while sending a response
  std::size_t max_connections = 10000;              // past this, the oldest connections are closed
  std::vector<config::cidr> trusted_proxies;        // peers whose X-Forwarded-For is believed
  std::string environment;                          // APP_ENV, for logs
  std::shared_ptr<request_metrics> metrics;         // null: requests are not measured
  request_tracing tracing;                          // no tracer: requests are not traced
};

/// An HTTP/1.1 server: one coroutine per connection on a strand of the
/// io_context. Each request gets a request id and a client address, goes
/// through the cross-site check and the router, and is logged with one
/// access line. An exception that escapes a handler becomes a JSON 500 with
/// one error log line; handlers map their own expected failures first.
class server {
 public:
  server(boost::asio::io_context& io, server_options options, std::shared_ptr<const router> routes);

  /// Without an earlier shutdown(), starts one with no timeout, which closes
  /// the listener and every connection at once.
  ~server();

  /// Binds and starts accepting. Throws boost::system::system_error when the
  /// port is taken, and std::logic_error after shutdown() was called.
  void start();

  /// The bound port (useful when PORT is 0 in tests).
  unsigned short port() const;

  /// Stops accepting, closes idle keep-alive connections, lets requests in
  /// flight finish, and calls `done` when the last connection is gone or
  /// `timeout` has passed, whichever is first. `done` receives the number of
  /// connections still open (0 on a clean drain); those are then closed
  /// without waiting for their requests. Responses sent during the drain carry
  /// Connection: close. `done` runs on an io_context thread. A later call
  /// keeps the first timeout and gets its `done` called at the same moment,
  /// or at once when the server has already stopped.
  void shutdown(std::chrono::milliseconds timeout, std::function<void(std::size_t)> done);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace todo::http
