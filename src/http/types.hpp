#pragma once

#include "obs/log.hpp"
#include "obs/tracer.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace todo::http {

namespace beast_http = boost::beast::http;

using request = beast_http::request<beast_http::string_body>;
using response = beast_http::response<beast_http::string_body>;

/// What a handler knows about the request beyond the message itself. It is
/// passed explicitly to every call, never kept in a thread_local, because a
/// coroutine may resume on another thread after each co_await.
struct request_context {
  std::string request_id;
  std::string client_ip;
  std::string route_name;                // the matched route's name, such as "toggle_task"
  std::string route_template;            // such as "/toggle/{id}"
  std::vector<std::string> path_params;  // values of {…} segments, in order
  std::chrono::steady_clock::time_point received_at;
  std::uint64_t received_unix_nano = 0;  // the same moment on the system clock, for spans
  obs::active_span span;                 // the SERVER span; empty when the request is not traced

  /// The parent for spans of work done for this request, such as queries.
  obs::trace_parent trace() const noexcept { return span.as_parent(); }

  /// Ids for log lines: the request id, and the trace and span ids while traced.
  obs::log_context log() const noexcept {
    return obs::log_context{request_id, span.trace_id_hex(), span.span_id_hex()};
  }
};

}  // namespace todo::http
