#include "http/server_span.hpp"

#include <boost/beast/core/string.hpp>

#include <array>
#include <charconv>

namespace todo::http {

namespace {

constexpr std::array<std::string_view, 9> known_methods{"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                         "CONNECT", "OPTIONS", "TRACE", "PATCH"};

bool is_known_method(std::string_view method) {
  for (const auto known : known_methods) {
    if (known == method) return true;
  }
  return false;
}

// Splits a Host header into name and port. The port is 0 when absent or invalid.
std::pair<std::string_view, std::int64_t> split_host(std::string_view host) {
  std::string_view name = host;
  std::string_view port_text;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return {{}, 0};
    name = host.substr(1, close - 1);  // without the brackets
    if (close + 1 < host.size() && host[close + 1] == ':') port_text = host.substr(close + 2);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port_text = host.substr(colon + 1);
  }
  std::int64_t port = 0;
  if (!port_text.empty()) {
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port < 1 || port > 65535) port = 0;
  }
  return {name, port};
}

}  // namespace

std::optional<obs::span_context> incoming_parent(const request& req) {
  // Several traceparent headers are ambiguous, so a new trace starts.
  if (req.count("traceparent") != 1) return std::nullopt;
  auto parent = obs::parse_traceparent(req["traceparent"]);
  if (!parent) return std::nullopt;

  // Several tracestate headers are one list, joined with commas.
  std::string state;
  for (auto [it, end] = req.equal_range("tracestate"); it != end; ++it) {
    if (!state.empty()) state += ',';
    state.append(it->value());
  }
  if (!state.empty()) parent->tracestate = obs::validate_tracestate(state);
  return parent;
}

obs::active_span start_server_span(obs::tracer& tracer, const request& req, const request_context& context,
                                   std::string_view path) {
  const std::string_view sent_method = req.method_string();
  const bool known = is_known_method(sent_method);
  const std::string_view method = known ? sent_method : std::string_view("_OTHER");
  // The conventions name a span of an unknown method "HTTP", not "_OTHER".
  std::string name(known ? method : std::string_view("HTTP"));
  if (!context.route_template.empty()) name += " " + context.route_template;

  auto span = tracer.start_span(name, obs::span_kind::server, incoming_parent(req), context.received_unix_nano);
  if (!span.recording()) return span;

  span.set_attribute("http.request.method", method);
  if (!known) span.set_attribute("http.request.method_original", sent_method);
  span.set_attribute("url.path", path);
  span.set_attribute("url.scheme", "http");
  if (!context.route_template.empty()) span.set_attribute("http.route", context.route_template);
  span.set_attribute("client.address", context.client_ip);
  if (auto agent = req.find(beast_http::field::user_agent); agent != req.end()) {
    span.set_attribute("user_agent.original", agent->value());
  }
  if (auto host = req.find(beast_http::field::host); host != req.end()) {
    const auto [server_name, port] = split_host(host->value());
    if (!server_name.empty()) span.set_attribute("server.address", server_name);
    if (port != 0) span.set_attribute("server.port", port);
  }
  span.set_attribute("network.protocol.version", req.version() == 10 ? "1.0" : "1.1");
  return span;
}

void finish_server_span(obs::active_span& span, unsigned status) {
  if (!span.recording()) return;
  span.set_attribute("http.response.status_code", static_cast<std::int64_t>(status));
  if (status >= 500) {
    span.set_attribute("error.type", std::to_string(status));
    span.set_error({});
  }
}

}  // namespace todo::http
