#include "obs/otlp_http.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace todo::obs {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A collector's response is a small JSON object, so anything longer is cut.
constexpr std::uint64_t max_response_bytes = 64 * 1024;
constexpr std::size_t error_excerpt_bytes = 200;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  value = trim(value);
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  // An HTTP-date is not read: the caller's own backoff applies instead.
  if (ec != std::errc{} || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(std::min<long long>(seconds, 24 * 3600));
}

std::string excerpt(std::string_view body) {
  return std::string(body.substr(0, error_excerpt_bytes));
}

}  // namespace

otlp_endpoint parse_otlp_endpoint(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) throw std::invalid_argument("'" + std::string(url) + "' is not an absolute URL");
  const auto& view = *parsed;
  if (view.scheme() != "http") {
    throw std::invalid_argument("'" + std::string(url) +
                                "' must start with http:// (this build has no TLS; put a collector or proxy on "
                                "a private network in front)");
  }
  if (!view.has_authority() || view.encoded_host().empty()) {
    throw std::invalid_argument("'" + std::string(url) + "' has no host");
  }
  if (view.has_userinfo()) throw std::invalid_argument("credentials belong in OTEL_EXPORTER_OTLP_HEADERS, not the URL");

  otlp_endpoint endpoint;
  endpoint.host = std::string(view.host_address());
  endpoint.port = "80";
  if (view.has_port()) {
    const auto port = view.port_number();
    if (port == 0) throw std::invalid_argument("'" + std::string(url) + "' has a port outside 1-65535");
    endpoint.port = std::to_string(port);
  }
  endpoint.host_header = std::string(view.encoded_host_and_port());
  endpoint.target = view.encoded_path().empty() ? "/" : std::string(view.encoded_path());
  if (view.has_query()) endpoint.target += "?" + std::string(view.encoded_query());
  return endpoint;
}

bool is_retryable_status(unsigned status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

struct otlp_http_client::state {
  state(asio::any_io_executor executor, otlp_endpoint endpoint)
      : executor(std::move(executor)), endpoint(std::move(endpoint)), resolver(this->executor) {}

  asio::any_io_executor executor;
  otlp_endpoint endpoint;
  tcp::resolver resolver;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

otlp_http_client::otlp_http_client(asio::any_io_executor executor, otlp_endpoint endpoint)
    : state_(std::make_unique<state>(std::move(executor), std::move(endpoint))) {}

otlp_http_client::~otlp_http_client() = default;

void otlp_http_client::close() noexcept {
  state_->resolver.cancel();
  if (state_->stream) {
    error_code ignored;
    state_->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    state_->stream->socket().close(ignored);
    state_->stream.reset();
  }
  state_->buffer.clear();
}

asio::awaitable<otlp_response> otlp_http_client::post(const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto& s = *state_;

  beast_http::request<beast_http::string_body> req{beast_http::verb::post, s.endpoint.target, 11};
  req.set(beast_http::field::host, s.endpoint.host_header);
  req.set(beast_http::field::content_type, "application/json");
  req.set(beast_http::field::user_agent, "todo-otlp-exporter");
  for (const auto& [key, value] : s.endpoint.headers) req.set(key, value);
  req.body() = body;
  req.prepare_payload();

  otlp_response outcome;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = s.stream.has_value();
    if (!reused) {
      s.buffer.clear();
      auto [resolve_ec, results] = co_await s.resolver.async_resolve(s.endpoint.host, s.endpoint.port, use_tuple);
      if (resolve_ec) {
        outcome.error = "resolving " + s.endpoint.host + " failed: " + resolve_ec.message();
        co_return outcome;
      }
      s.stream.emplace(s.executor);
      s.stream->expires_at(deadline);
      auto [connect_ec, connected] = co_await s.stream->async_connect(results, use_tuple);
      if (connect_ec) {
        close();
        outcome.error = "connecting to " + s.endpoint.host_header + " failed: " + connect_ec.message();
        co_return outcome;
      }
    }

    s.stream->expires_at(deadline);
    auto [write_ec, written] = co_await beast_http::async_write(*s.stream, req, use_tuple);
    std::optional<beast_http::response_parser<beast_http::string_body>> parser;
    error_code read_ec = write_ec;
    // An interim 1xx response, such as 100 Continue, precedes the real one.
    for (int interim = 0; !read_ec && interim < 4; ++interim) {
      parser.emplace();
      parser->body_limit(max_response_bytes);
      auto [ec, read] = co_await beast_http::async_read(*s.stream, s.buffer, *parser, use_tuple);
      read_ec = ec;
      if (read_ec || parser->get().result_int() / 100 != 1) break;
    }
    if (read_ec) {
      close();
      // A kept-alive connection may have been closed by the collector while
      // it sat idle, so one fresh connection is tried before the deadline.
      if (reused && std::chrono::steady_clock::now() < deadline && read_ec != beast::error::timeout) continue;
      outcome.error = read_ec == beast::error::timeout ? "no answer within the export timeout"
                                                       : "the exchange failed: " + read_ec.message();
      co_return outcome;
    }

    auto res = parser->release();
    outcome.status = res.result_int();
    if (auto header = res.find(beast_http::field::retry_after); header != res.end()) {
      outcome.retry_after = parse_retry_after(header->value());
    }
    if (outcome.status / 100 != 2) outcome.error = excerpt(res.body());
    if (!res.keep_alive()) close();
    co_return outcome;
  }
  co_return outcome;
}

}  // namespace todo::obs
