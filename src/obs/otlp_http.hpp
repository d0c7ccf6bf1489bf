#pragma once

// The HTTP side of the OTLP/HTTP exporter: POSTs one encoded export request
// to the collector over a kept-alive connection.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace todo::obs {

/// Address, request target and extra headers of the export requests.
struct otlp_endpoint {
  std::string host;    ///< Name or address to connect to.
  std::string port;    ///< Decimal port.
  std::string target;  ///< Request target, such as "/v1/traces".
  std::string host_header;
  std::vector<std::pair<std::string, std::string>> headers;  ///< Extra request headers, such as credentials.
};

/// Splits an http:// URL into an endpoint. Throws std::invalid_argument saying
/// what is wrong for any other scheme, a missing host, a port outside 1-65535,
/// or text that is not a URL.
otlp_endpoint parse_otlp_endpoint(std::string_view url);

/// Outcome of one POST: the status, Retry-After and any error.
struct otlp_response {
  unsigned status = 0;  ///< HTTP status; 0 when no response arrived.
  std::optional<std::chrono::seconds> retry_after;  ///< From a Retry-After header in seconds.
  std::string error;    ///< Connection or protocol failure, or the start of an error body.
};

/// True for the statuses after which an export is tried again: 429, 502, 503 and 504.
bool is_retryable_status(unsigned status) noexcept;

/// Sends export requests one at a time. Not thread-safe: use it from one coroutine.
class otlp_http_client {
 public:
  otlp_http_client(boost::asio::any_io_executor executor, otlp_endpoint endpoint);
  ~otlp_http_client();

  /// POSTs `body` as application/json and waits up to `timeout` for the whole
  /// exchange. Reuses the connection of the last call when the collector kept
  /// it open. A reused connection that fails before any response is replaced
  /// once within the same timeout. Network failures come back in the
  /// result's `error`, not as exceptions.
  boost::asio::awaitable<otlp_response> post(const std::string& body, std::chrono::milliseconds timeout);

  /// Closes the connection, cancelling a post() in progress.
  void close() noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace todo::obs
