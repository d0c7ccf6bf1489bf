#include "http/request_pipeline.hpp"

#include "http/cross_site.hpp"
#include "http/responses.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <exception>

namespace todo::http {

namespace {

constexpr std::string_view logger = "todo.http";

bool may_have_body(beast_http::status status) {
  const auto code = static_cast<unsigned>(status);
  return code >= 200 && code != 204 && code != 304;
}

// Rejects message framing that a proxy in front could read differently
// (RFC 9112 sections 3.2 and 6.1). Returns the reason, or nullopt.
std::optional<std::string> framing_problem(const request& req) {
  if (req.version() >= 11 && req.find(beast_http::field::host) == req.end()) {
    return "missing Host header, which HTTP/1.1 requires";
  }
  const auto coding = req.find(beast_http::field::transfer_encoding);
  if (coding == req.end()) return std::nullopt;
  if (req.version() < 11) return "Transfer-Encoding is not allowed in HTTP/1.0 requests";
  if (!boost::beast::iequals(coding->value(), "chunked")) {
    return "unsupported Transfer-Encoding; only chunked is accepted";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> request_target_path(std::string_view target) {
  if (!target.empty() && target.front() == '/') {
    const auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return std::nullopt;
    return std::string(parsed->encoded_path());
  }

  // Absolute form is only for proxies, but HTTP/1.1 servers must accept it.
  // Other schemes, and the authority form of CONNECT, have no path here.
  const auto parsed = boost::urls::parse_absolute_uri(target);
  if (!parsed) return std::nullopt;
  if (parsed->scheme_id() != boost::urls::scheme::http && parsed->scheme_id() != boost::urls::scheme::https) {
    return std::nullopt;
  }
  const auto path = parsed->encoded_path();
  if (path.empty()) return std::string("/");
  return std::string(path);
}

boost::asio::awaitable<response> dispatch_request(const router& routes, const request& req,
                                                  request_context& context, const request_tracing& tracing) {
  if (auto problem = framing_problem(req)) {
    context.route_name = "bad_request";
    co_return json_error(req, context, beast_http::status::bad_request, *problem);
  }

  const auto path = request_target_path(req.target());
  if (!path) {
    context.route_name = "bad_request";
    co_return json_error(req, context, beast_http::status::bad_request, "invalid request target");
  }

  auto match = routes.match(req.method(), *path);
  context.route_name = match.name;
  context.route_template = match.route_template;
  context.path_params = std::move(match.params);

  if (tracing.tracer != nullptr &&
      std::find(tracing.untraced_routes.begin(), tracing.untraced_routes.end(), context.route_name) ==
          tracing.untraced_routes.end()) {
    context.span = start_server_span(*tracing.tracer, req, context, *path);
  }

  if (match.outcome == route_match::status::not_found) {
    co_return json_error(req, context, beast_http::status::not_found, "not found");
  }
  if (match.outcome == route_match::status::method_not_allowed) {
    auto res = json_error(req, context, beast_http::status::method_not_allowed, "method not allowed");
    res.set(beast_http::field::allow, match.allow);
    co_return res;
  }

  if (auto rejection = cross_site_rejection(req)) {
    obs::log_info(logger, context.log(), "cross-site request rejected",
                  {{"route", context.route_name}, {"reason", *rejection}, {"client_ip", context.client_ip}});
    co_return json_error(req, context, beast_http::status::forbidden, *rejection);
  }

  // A catch block cannot contain co_await, so the failure is recorded here
  // and the 500 is built after the try statement.
  std::optional<response> res;
  std::string failure;
  try {
    res = co_await (*match.target)(req, context);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (res) co_return std::move(*res);

  context.span.set_error(failure);

  obs::log_error(logger, context.log(), "request handler failed",
                 {{"route", context.route_name}, {"http.method", std::string_view(req.method_string())}, {"error", failure}});
  co_return json_error(req, context, beast_http::status::internal_server_error, "internal server error");
}

// Scripts and styles come only from our own /static files, so inline script
// injected through user text cannot run even if escaping ever failed.
constexpr std::string_view content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

void finalize_response(response& res, const request& req, const request_context& context, bool keep_alive) {
  res.version(req.version());
  res.set("X-Request-ID", context.request_id);
  if (context.span.valid()) res.set("traceparent", obs::format_traceparent(context.span.context()));
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", content_security_policy);
  res.set("Referrer-Policy", "same-origin");
  res.set("X-Frame-Options", "DENY");
  res.keep_alive(keep_alive);

  // An empty body with a Content-Length is a HEAD or 304 response prepared
  // by the handler, such as static_files, and keeps its length.
  if (!may_have_body(res.result())) {
    res.body().clear();
  } else if (!res.body().empty() || !res.has_content_length()) {
    res.prepare_payload();
  }

  if (req.method() == beast_http::verb::head && !res.body().empty()) {
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
}

}  // namespace todo::http
