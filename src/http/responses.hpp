#pragma once

#include "http/types.hpp"

#include <boost/json/value.hpp>

#include <string_view>

namespace todo::http {

/// A JSON response with Content-Type application/json.
response json_response(const request& req, beast_http::status status, const boost::json::value& body);

/// The same with a body serialized before.
response json_text_response(const request& req, beast_http::status status, std::string serialized_body);

/// {"error": message, "request_id": …} with the given status.
response json_error(const request& req, const request_context& context, beast_http::status status,
                    std::string_view message);

/// 303 See Other to `location`.
response redirect(const request& req, std::string_view location);

/// An HTML response with Content-Type text/html; charset=utf-8.
response html_response(const request& req, beast_http::status status, std::string body);

/// True when the client submitted an HTML form and expects a page back
/// (form Content-Type, or Accept preferring text/html over JSON).
bool wants_html(const request& req);

/// An error in the form the client expects: a small HTML page for browsers
/// posting forms, JSON otherwise.
response error_response(const request& req, const request_context& context, beast_http::status status,
                        std::string_view message);

/// 503 with Retry-After, for a dependency that is down.
response unavailable_response(const request& req, const request_context& context, std::string_view message,
                              int retry_after_seconds = 1);

}  // namespace todo::http
