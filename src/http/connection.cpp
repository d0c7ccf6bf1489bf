#include "http/connection.hpp"

#include "http/access_log.hpp"
#include "http/client_ip.hpp"
#include "http/request_id.hpp"
#include "http/request_pipeline.hpp"
#include "http/responses.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace todo::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::string_view logger = "todo.http";
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// After rejecting a request the server stops sending but keeps reading for a
// while. Closing a socket with unread input makes the kernel send a reset,
// which can destroy the error response before a client still uploading reads it.
constexpr std::chrono::seconds linger_timeout{1};
constexpr std::size_t linger_max_bytes = 1024 * 1024;

constexpr std::size_t read_chunk_bytes = 4096;

using request_parser = beast_http::request_parser<beast_http::string_body>;

enum class next_step { keep_alive, close, close_lingering };

// True for bytes that the client sent completely but that are not valid
// HTTP. End of stream and a message cut short are the client leaving.
bool is_malformed(const error_code& ec) {
  if (ec.category() != beast_http::make_error_code(beast_http::error::bad_method).category()) return false;
  return ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message;
}

// The usual ways a peer leaves, or a shutdown closes the socket.
bool is_ordinary_close(const error_code& ec) {
  return ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

std::string joined_forwarded_for(const request& header) {
  std::string joined;
  for (auto [it, end] = header.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!joined.empty()) joined.append(", ");
    joined.append(it->value());
  }
  return joined;
}

std::string path_for_log(std::string_view target) {
  if (auto path = request_target_path(target)) return std::move(*path);
  return std::string(target.substr(0, target.find('?')));
}

class session {
 public:
  session(std::shared_ptr<connection> conn, std::shared_ptr<const server_options> options,
          std::shared_ptr<const router> routes)
      : conn_(std::move(conn)), options_(std::move(options)), routes_(std::move(routes)) {}

  asio::awaitable<void> run() {
    error_code ec;
    const auto peer = conn_->stream.socket().remote_endpoint(ec);
    if (ec) {
      obs::log_debug(logger, {}, "http connection closed before its first request",
                     {{"connection_id", conn_->id}, {"error", ec.message()}});
      co_return;
    }
    peer_address_ = peer.address();
    peer_text_ = resolve_client_ip(peer_address_, {}, {});
    // For write_buffered(): a synchronous write then returns would_block
    // instead of waiting. Asynchronous operations work the same either way.
    conn_->stream.socket().non_blocking(true, ec);

    auto step = next_step::keep_alive;
    for (bool first = true; step == next_step::keep_alive && !conn_->stopping; first = false) {
      if (!first && buffer_.size() == 0 && !co_await await_next_request()) {
        step = next_step::close;
        break;
      }

      step = co_await serve_request();
      conn_->busy = false;
    }

    co_await close(step);
  }

 private:
  // Waits up to idle_timeout for the first bytes of the next request on a
  // kept-alive connection.
  asio::awaitable<bool> await_next_request() {
    conn_->stream.expires_after(options_->idle_timeout);
    auto [ec, bytes] = co_await conn_->stream.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
    if (ec) {
      log_connection_end("idle", ec);
      co_return false;
    }

    buffer_.commit(bytes);
    co_return true;
  }

  asio::awaitable<next_step> serve_request() {
    request_parser parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options_->max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // The Content-Length is checked by hand after the header, so that the 413
    // can carry the request id. A body limit set here would fail the header read.
    parser.body_limit(boost::none);

    // One deadline for the whole header, so a client that sends a byte now
    // and then is cut off all the same.
    auto header_ec = parse_buffered_header(parser);
    if (header_ec == beast_http::error::need_more) {
      conn_->stream.expires_after(options_->header_timeout);
      auto [read_ec, header_bytes] = co_await beast_http::async_read_header(conn_->stream, buffer_, parser, use_tuple);
      header_ec = read_ec;
    }
    if (header_ec == beast_http::error::header_limit || header_ec == beast_http::error::buffer_overflow) {
      co_return co_await reject_unreadable(beast_http::status::request_header_fields_too_large,
                                           "request header too large", "request_header_too_large", header_ec);
    }
    if (is_malformed(header_ec)) {
      co_return co_await reject_unreadable(beast_http::status::bad_request, "malformed request", "bad_request",
                                           header_ec);
    }
    if (header_ec) {
      log_connection_end("header", header_ec);
      co_return next_step::close;
    }

    conn_->busy = true;
    in_flight_request in_flight(options_->metrics.get());
    auto context = make_context(parser.get());

    // Without chunked as the final coding, the end of a request body cannot
    // be found, and guessing would let the rest be read as another request.
    if (parser.get().count(beast_http::field::transfer_encoding) > 0 && !parser.chunked()) {
      co_return co_await reject_request(parser.get(), context, in_flight, beast_http::status::bad_request,
                                        "malformed request", "bad_request",
                                        beast_http::make_error_code(beast_http::error::bad_transfer_encoding));
    }

    const auto content_length = parser.content_length();
    if (content_length && *content_length > options_->max_body_bytes) {
      co_return co_await reject_request(parser.get(), context, in_flight, beast_http::status::payload_too_large,
                                        "request body too large", "payload_too_large",
                                        beast_http::make_error_code(beast_http::error::body_limit));
    }

    parser.body_limit(options_->max_body_bytes);
    if (!parser.is_done()) {
      if (!co_await send_continue(parser.get())) co_return next_step::close;

      conn_->stream.expires_after(options_->body_timeout);
      auto [body_ec, body_bytes] = co_await beast_http::async_read(conn_->stream, buffer_, parser, use_tuple);
      if (body_ec == beast_http::error::body_limit) {
        co_return co_await reject_request(parser.get(), context, in_flight, beast_http::status::payload_too_large,
                                          "request body too large", "payload_too_large", body_ec);
      }
      if (is_malformed(body_ec)) {
        co_return co_await reject_request(parser.get(), context, in_flight, beast_http::status::bad_request,
                                          "malformed request body", "bad_request", body_ec);
      }
      if (body_ec) {
        log_connection_end("body", body_ec);
        co_return next_step::close;
      }
    }

    const request req = parser.release();
    auto res = co_await dispatch_request(*routes_, req, context, options_->tracing);
    const bool keep_alive = req.keep_alive() && res.keep_alive() && !conn_->stopping;
    finalize_response(res, req, context, keep_alive);

    observe_request(context, req.method_string(), res.result_int(), &in_flight);
    const bool written = co_await write_response(res, context);
    record_request(context, {req.method_string(), path_for_log(req.target()), res.result_int(),
                         req[beast_http::field::user_agent]});
    finish_server_span(context.span, res.result_int());
    context.span.end();
    if (!written) co_return next_step::close;
    if (keep_alive) co_return next_step::keep_alive;

    // Unread pipelined requests would make the close a reset, which can
    // destroy this response before the client reads it.
    co_return buffer_.size() > 0 ? next_step::close_lingering : next_step::close;
  }

  // Records the request in the metrics once its response is ready, before
  // the write, so a client that has its response is already counted, and no
  // longer in flight, when it scrapes next. The duration therefore leaves out
  // the time to send.
  // `in_flight` is null for a request that was never counted as in flight.
  void observe_request(const request_context& context, std::string_view method, unsigned status,
                       in_flight_request* in_flight = nullptr) const noexcept {
    if (in_flight != nullptr) in_flight->finish();
    if (!options_->metrics) return;
    options_->metrics->request_finished(method, context.route_name, status,
                                        std::chrono::steady_clock::now() - context.received_at, context.span);
  }

  // Writes the access line, after the response was sent or the write failed.
  void record_request(const request_context& context, const access_record& record) const noexcept {
    log_access(context, record);
  }

  request_context make_context(const request& header) const {
    request_context context;
    context.received_at = std::chrono::steady_clock::now();
    if (options_->tracing.tracer != nullptr) context.received_unix_nano = obs::unix_nano_now();
    context.request_id = choose_request_id(header["X-Request-ID"]);
    context.client_ip = resolve_client_ip(peer_address_, joined_forwarded_for(header), options_->trusted_proxies);
    return context;
  }

  // Sends the error response to a request whose header could not be parsed.
  // Nothing of it is trusted, so the id is new and the client address is the peer.
  asio::awaitable<next_step> reject_unreadable(beast_http::status status, std::string_view message,
                                               std::string_view route_name, const error_code& cause) {
    request_context context;
    context.received_at = std::chrono::steady_clock::now();
    context.request_id = random_uuid();
    context.client_ip = peer_text_;
    context.route_name = std::string(route_name);

    request unreadable;
    unreadable.version(11);
    auto res = json_error(unreadable, context, status, message);
    finalize_response(res, unreadable, context, false);

    log_rejection(context, status, cause);
    observe_request(context, {}, res.result_int());
    co_await write_response(res, context);
    record_request(context, {{}, {}, res.result_int(), {}});
    co_return next_step::close_lingering;
  }

  // Sends the error response to a request whose header was read but which is
  // not served, such as one with a body over the limit.
  asio::awaitable<next_step> reject_request(const request& header, request_context& context,
                                            in_flight_request& in_flight, beast_http::status status,
                                            std::string_view message,
                                            std::string_view route_name, const error_code& cause) {
    context.route_name = std::string(route_name);
    auto res = json_error(header, context, status, message);
    finalize_response(res, header, context, false);

    log_rejection(context, status, cause);
    observe_request(context, header.method_string(), res.result_int(), &in_flight);
    co_await write_response(res, context);
    record_request(context, {header.method_string(), path_for_log(header.target()), res.result_int(),
                         header[beast_http::field::user_agent]});
    co_return next_step::close_lingering;
  }

  // Parses a header that is already in the buffer, as most are after the
  // first read, without an asynchronous read and its timer. Returns
  // need_more when the header is not complete yet.
  error_code parse_buffered_header(request_parser& parser) {
    if (buffer_.size() == 0) return beast_http::error::need_more;
    error_code ec;
    const auto used = parser.put(buffer_.data(), ec);
    buffer_.consume(used);
    return ec;
  }

  // Writes what the socket takes now without waiting. A response that fits
  // in the send buffer, as most do, goes out without an asynchronous write
  // and its timer; write_response() waits for the rest.
  void write_buffered(beast_http::response_serializer<beast_http::string_body>& serializer, error_code& ec) {
    auto& socket = conn_->stream.socket();
    while (!serializer.is_done()) {
      beast_http::write_some(socket, serializer, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        return;
      }
      if (ec) return;
    }
  }

  // Sends "100 Continue" to a client that waits for it before sending the
  // body, such as curl with a larger upload.
  asio::awaitable<bool> send_continue(const request& header) {
    if (header.version() < 11 || !beast::iequals(header[beast_http::field::expect], "100-continue")) {
      co_return true;
    }

    beast_http::response<beast_http::empty_body> interim{beast_http::status::continue_, header.version()};
    conn_->stream.expires_after(options_->write_timeout);
    auto [ec, bytes] = co_await beast_http::async_write(conn_->stream, interim, use_tuple);
    if (ec) {
      log_connection_end("write", ec);
      co_return false;
    }
    co_return true;
  }

  // Sends the response piece by piece and restarts the write timeout after
  // each piece, so the timeout cuts off a stalled client, not a slow one
  // downloading a large export.
  asio::awaitable<bool> write_response(response& res, const request_context& context) {
    beast_http::response_serializer<beast_http::string_body> serializer(res);
    error_code ec;
    write_buffered(serializer, ec);
    while (!ec && !serializer.is_done()) {
      conn_->stream.expires_after(options_->write_timeout);
      auto [write_ec, bytes] = co_await beast_http::async_write_some(conn_->stream, serializer, use_tuple);
      if (write_ec) {
        ec = write_ec;
        break;
      }
    }
    if (ec) {
      obs::log_info(logger, context.log(), "http response write failed",
                    {{"connection_id", conn_->id}, {"client_ip", context.client_ip}, {"error", ec.message()}});
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> close(next_step step) {
    auto& socket = conn_->stream.socket();
    if (!socket.is_open()) co_return;

    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    if (step == next_step::close_lingering) {
      conn_->stream.expires_after(linger_timeout);
      std::size_t discarded = 0;
      while (discarded < linger_max_bytes) {
        auto [ec, bytes] = co_await conn_->stream.async_read_some(buffer_.prepare(read_chunk_bytes), use_tuple);
        if (ec) break;
        discarded += bytes;
      }
    }
    conn_->stream.close();
  }

  void log_rejection(const request_context& context, beast_http::status status, const error_code& cause) const {
    obs::log_info(logger, context.log(), "http request rejected",
                  {{"connection_id", conn_->id},
                   {"client_ip", context.client_ip},
                   {"status_code", static_cast<unsigned>(status)},
                   {"error", cause.message()}});
  }

  // Logs why a connection ends outside a response. Clients leaving and idle
  // keep-alive expiry are routine and logged at DEBUG.
  void log_connection_end(std::string_view phase, const error_code& ec) const {
    const obs::log_context no_request{};
    if (is_ordinary_close(ec) || conn_->stopping || (ec == beast::error::timeout && phase == "idle")) {
      obs::log_debug(logger, no_request, "http connection closed",
                     {{"connection_id", conn_->id}, {"client_ip", peer_text_}, {"phase", phase},
                      {"error", ec.message()}});
      return;
    }

    const auto message = ec == beast::error::timeout ? "http connection timed out" : "http connection failed";
    obs::log_info(logger, no_request, message,
                  {{"connection_id", conn_->id}, {"client_ip", peer_text_}, {"phase", phase},
                   {"error", ec.message()}});
  }

  std::shared_ptr<connection> conn_;
  std::shared_ptr<const server_options> options_;
  std::shared_ptr<const router> routes_;
  beast::flat_buffer buffer_;
  asio::ip::address peer_address_;
  std::string peer_text_;
};

}  // namespace

connection::connection(tcp::socket socket, std::uint64_t id)
    : executor(socket.get_executor()), stream(std::move(socket)), id(id) {}

void connection::stop() {
  stopping = true;
  if (busy) return;

  // cancel() would abort only the read pending now. After shutting down the
  // receive side, later reads also report end of stream once the bytes
  // already received are consumed, and sending still works.
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_receive, ignored);
}

void connection::abort() {
  stopping = true;
  stream.close();
}

asio::awaitable<void> serve_connection(std::shared_ptr<connection> conn, std::shared_ptr<const server_options> options,
                                       std::shared_ptr<const router> routes) {
  session current(std::move(conn), std::move(options), std::move(routes));
  co_await current.run();
}

}  // namespace todo::http
