#pragma once

// SERVER spans of HTTP requests, with the stable HTTP semantic conventions.

#include "http/types.hpp"
#include "obs/tracer.hpp"

#include <string>
#include <vector>

namespace todo::http {

/// Tracer and untraced route names of one server.
struct request_tracing {
  obs::tracer* tracer = nullptr;            ///< null: nothing is traced
  std::vector<std::string> untraced_routes;  ///< route names served without a span, such as health checks
};

/// The parent named by the request's traceparent and tracestate headers, or
/// nothing when traceparent is missing, repeated or invalid. A tracestate is
/// kept only with a valid traceparent, and an invalid one is dropped alone.
std::optional<obs::span_context> incoming_parent(const request& req);

/// Starts the SERVER span of a routed request: named "{METHOD} {route}", or
/// "{METHOD}" when no route matched, with http.request.method, url.path,
/// url.scheme, http.route, client.address, user_agent.original,
/// server.address, server.port and network.protocol.version. A method
/// outside the standard ones is "_OTHER" in the name and the method
/// attribute, with the method as sent in http.request.method_original.
obs::active_span start_server_span(obs::tracer& tracer, const request& req, const request_context& context,
                                   std::string_view path);

/// Records the response status: http.response.status_code, and for 5xx the
/// error status with error.type set to the status code.
void finish_server_span(obs::active_span& span, unsigned status);

}  // namespace todo::http
