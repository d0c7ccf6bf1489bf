#include "http/responses.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

namespace todo::http {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The media type of a Content-Type or Accept element, without parameters.
std::string_view media_type(std::string_view element) { return trim(element.substr(0, element.find(';'))); }

// Reads the q parameter of one Accept element. A missing q means 1, and a
// malformed one means 0, so that element is ignored.
double quality_of(std::string_view element) {
  auto rest = element;
  while (true) {
    const auto semicolon = rest.find(';');
    if (semicolon == std::string_view::npos) return 1.0;
    rest.remove_prefix(semicolon + 1);

    const auto parameter = trim(rest.substr(0, rest.find(';')));
    if (parameter.size() < 2 || (parameter[0] != 'q' && parameter[0] != 'Q') || parameter[1] != '=') continue;

    const auto digits = parameter.substr(2);
    double value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return 0.0;
    return std::clamp(value, 0.0, 1.0);
  }
}

// Returns the q value that `accept` gives to `type`/`subtype`, taken from
// the most specific matching range, or 0 when no range matches.
double accepted_quality(std::string_view accept, std::string_view type, std::string_view subtype) {
  int best_specificity = 0;
  double best_quality = 0.0;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const auto element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);

    const auto range = media_type(element);
    const auto slash = range.find('/');
    if (slash == std::string_view::npos) continue;
    const auto range_type = range.substr(0, slash);
    const auto range_subtype = range.substr(slash + 1);

    int specificity = 0;
    if (range_type == "*" && range_subtype == "*") {
      specificity = 1;
    } else if (boost::beast::iequals(range_type, type) && range_subtype == "*") {
      specificity = 2;
    } else if (boost::beast::iequals(range_type, type) && boost::beast::iequals(range_subtype, subtype)) {
      specificity = 3;
    }
    if (specificity <= best_specificity) continue;

    best_specificity = specificity;
    best_quality = quality_of(element);
  }
  return best_quality;
}

void append_html_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\'': out.append("&#39;"); break;
      default: out.push_back(c);
    }
  }
}

std::string render_error_page(beast_http::status status, std::string_view message, std::string_view request_id) {
  std::string title = std::to_string(static_cast<unsigned>(status));
  title.push_back(' ');
  title.append(beast_http::obsolete_reason(status));

  std::string page = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>";
  append_html_escaped(page, title);
  page.append("</title></head>\n<body>\n<h1>");
  append_html_escaped(page, title);
  page.append("</h1>\n<p>");
  append_html_escaped(page, message);
  page.append("</p>\n<p><a href=\"/\">Back to the list</a></p>\n<p><small>Request ID: ");
  append_html_escaped(page, request_id);
  page.append("</small></p>\n</body>\n</html>\n");
  return page;
}

response make_response(const request& req, beast_http::status status, std::string_view content_type,
                       std::string body) {
  response res{status, req.version()};
  res.set(beast_http::field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace

response json_response(const request& req, beast_http::status status, const boost::json::value& body) {
  return json_text_response(req, status, boost::json::serialize(body));
}

response json_text_response(const request& req, beast_http::status status, std::string serialized_body) {
  return make_response(req, status, "application/json", std::move(serialized_body));
}

response json_error(const request& req, const request_context& context, beast_http::status status,
                    std::string_view message) {
  return json_response(req, status, boost::json::object{{"error", message}, {"request_id", context.request_id}});
}

response redirect(const request& req, std::string_view location) {
  // A line break in Location would let the caller's text start a new header.
  if (location.find_first_of("\r\n", 0) != std::string_view::npos ||
      location.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("invalid redirect location: it contains CR, LF or NUL");
  }

  response res{beast_http::status::see_other, req.version()};
  res.set(beast_http::field::location, location);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

response html_response(const request& req, beast_http::status status, std::string body) {
  return make_response(req, status, "text/html; charset=utf-8", std::move(body));
}

bool wants_html(const request& req) {
  const auto content_type = media_type(req[beast_http::field::content_type]);
  if (boost::beast::iequals(content_type, "application/x-www-form-urlencoded") ||
      boost::beast::iequals(content_type, "multipart/form-data")) {
    return true;
  }

  const auto accept = req[beast_http::field::accept];
  if (accept.empty()) return false;
  return accepted_quality(accept, "text", "html") > accepted_quality(accept, "application", "json");
}

response error_response(const request& req, const request_context& context, beast_http::status status,
                        std::string_view message) {
  if (!wants_html(req)) return json_error(req, context, status, message);
  return html_response(req, status, render_error_page(status, message, context.request_id));
}

response unavailable_response(const request& req, const request_context& context, std::string_view message,
                              int retry_after_seconds) {
  auto res = error_response(req, context, beast_http::status::service_unavailable, message);
  res.set(beast_http::field::retry_after, std::to_string(std::max(retry_after_seconds, 0)));
  return res;
}

}  // namespace todo::http
