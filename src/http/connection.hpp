#pragma once

#include "http/router.hpp"
#include "http/server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <cstdint>
#include <memory>

namespace todo::http {

/// One accepted TCP connection. The stream's executor is a strand, and every
/// member is touched only on that strand.
struct connection {
  connection(boost::asio::ip::tcp::socket socket, std::uint64_t id);

  /// Ends the connection for a server shutdown. An idle connection, or one
  /// still receiving a request header, stops reading at once. A busy one
  /// sends its response with Connection: close and then ends.
  void stop();

  /// Closes the socket whatever the connection is doing, for a shutdown
  /// whose timeout has passed.
  void abort();

  const boost::asio::any_io_executor executor;  // the strand, safe to read from any thread
  boost::beast::tcp_stream stream;
  const std::uint64_t id;
  bool busy = false;      // from a complete request header to the end of its response
  bool stopping = false;  // set by stop()
};

/// Serves HTTP/1.1 requests on `conn` until the client closes it, a timeout
/// of `options` passes, a request is rejected, or stop() is called.
boost::asio::awaitable<void> serve_connection(std::shared_ptr<connection> conn,
                                              std::shared_ptr<const server_options> options,
                                              std::shared_ptr<const router> routes);

}  // namespace todo::http
