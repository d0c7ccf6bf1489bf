#pragma once

#include "http/router.hpp"
#include "http/server_span.hpp"
#include "http/types.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace todo::http {

/// Returns the still percent-encoded path of a request target in origin form
/// ("/a?b") or absolute form with an http or https scheme ("http://host/a?b"),
/// without the query. Returns nullopt for any other target, such as "*",
/// "host:443" or text that is not a URI.
std::optional<std::string> request_target_path(std::string_view target);

/// Builds the response to a complete request with no socket involved. An
/// unknown method gets 501, an invalid target 400, an unmatched path 404, a
/// path without the method 405 with Allow, and a cross-site write 403.
/// Anything else goes to the route's handler. Fills the route fields of
/// `context`. An exception from the handler becomes a JSON 500 with one
/// error log line.
///
/// With a tracer in `tracing`, a routed request whose route is not listed as
/// untraced gets a SERVER span in context.span, continuing the traceparent
/// it carries. The caller ends it after sending the response.
boost::asio::awaitable<response> dispatch_request(const router& routes, const request& req,
                                                  request_context& context, const request_tracing& tracing = {});

/// Adds what every response carries: the request's HTTP version,
/// X-Request-ID, traceparent when the request has a span, X-Content-Type-Options: nosniff, a Content-Length when the
/// handler set none, and Connection: close unless `keep_alive`. A response
/// to HEAD loses its body but keeps the Content-Length of the body.
void finalize_response(response& res, const request& req, const request_context& context, bool keep_alive);

}  // namespace todo::http
