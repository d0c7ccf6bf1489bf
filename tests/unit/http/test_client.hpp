#pragma once

#include "http/types.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace todo::http::testing {

/// A blocking HTTP/1.1 client for tests that sends raw bytes and parses
/// responses. Every operation gives up after `limit`, so a server bug makes
/// a test fail instead of hang. No test asserts on the time taken.
class test_client {
 public:
  static constexpr std::chrono::seconds default_limit{20};

  explicit test_client(unsigned short port) : socket_(io_), timer_(io_) {
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    run_bounded(default_limit, [&](auto done) { socket_.async_connect(endpoint, done); });
    if (last_error_) throw std::runtime_error("connect failed: " + last_error_.message());
  }

  void send(std::string_view bytes) {
    run_bounded(default_limit, [&](auto done) {
      boost::asio::async_write(socket_, boost::asio::buffer(bytes.data(), bytes.size()),
                               [done](boost::system::error_code ec, std::size_t) { done(ec); });
    });
    if (last_error_) throw std::runtime_error("send failed: " + last_error_.message());
  }

  /// Reads one response. Pass `head_request` for the response to HEAD, whose
  /// Content-Length announces a body that is not sent.
  response read_response(bool head_request = false) {
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(head_request);
    run_bounded(default_limit, [&](auto done) {
      beast_http::async_read(socket_, buffer_, parser,
                             [done](boost::system::error_code ec, std::size_t) { done(ec); });
    });
    if (last_error_) throw std::runtime_error("reading the response failed: " + last_error_.message());
    return parser.release();
  }

  /// Reads and discards until the server closes the connection or `limit`
  /// passes. Returns the error that ended reading: end of file or a reset
  /// when the server closed it, boost::beast::error::timeout otherwise.
  boost::system::error_code wait_for_close(std::chrono::milliseconds limit = default_limit) {
    for (;;) {
      std::size_t received = 0;
      run_bounded(limit, [&](auto done) {
        socket_.async_read_some(buffer_.prepare(4096), [done, &received](boost::system::error_code ec, std::size_t n) {
          received = n;
          done(ec);
        });
      });
      if (last_error_) return last_error_;
      buffer_.commit(received);
    }
  }

  /// Bytes received but not parsed as a response, such as a body sent to
  /// HEAD by mistake. wait_for_close() collects them.
  std::string leftover() const { return boost::beast::buffers_to_string(buffer_.data()); }

 private:
  // Runs one operation. When `limit` passes first, the operation is
  // cancelled but the socket stays open, so the test can go on using it.
  template <typename Start>
  void run_bounded(std::chrono::milliseconds limit, Start start) {
    last_error_ = {};
    bool timed_out = false;
    timer_.expires_after(limit);
    timer_.async_wait([this, &timed_out](boost::system::error_code ec) {
      if (ec) return;
      timed_out = true;
      socket_.cancel();
    });
    start([this](boost::system::error_code ec) {
      last_error_ = ec;
      timer_.cancel();
    });
    io_.restart();
    io_.run();
    if (timed_out) last_error_ = boost::beast::error::timeout;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code last_error_;
};

/// True when `ec` means the peer closed the connection.
inline bool is_closed_by_peer(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
}

}  // namespace todo::http::testing
