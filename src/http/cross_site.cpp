#include "http/cross_site.hpp"

#include <boost/beast/core/string.hpp>

#include <string_view>

namespace todo::http {

namespace {

// Header values quoted in a reason are cut to this length, so a hostile
// client cannot make every log line and error body arbitrarily large.
constexpr std::size_t max_quoted_length = 100;

struct host_and_port {
  std::string_view host;
  std::string_view port;  // empty when the text had none
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string quote(std::string_view value) {
  if (value.size() > max_quoted_length) value = value.substr(0, max_quoted_length);
  return "'" + std::string(value) + "'";
}

bool is_safe_method(beast_http::verb method) {
  return method == beast_http::verb::get || method == beast_http::verb::head ||
         method == beast_http::verb::options;
}

// Splits "example.com:8080", "[::1]:8080" or "example.com". Returns nullopt
// when a bracket is unclosed or something other than a port follows it.
std::optional<host_and_port> split_authority(std::string_view authority) {
  if (authority.empty()) return std::nullopt;

  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto after = authority.substr(close + 1);
    if (after.empty()) return host_and_port{authority, {}};
    if (after.front() != ':') return std::nullopt;
    return host_and_port{authority.substr(0, close + 1), after.substr(1)};
  }

  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) return host_and_port{authority, {}};
  return host_and_port{authority.substr(0, colon), authority.substr(colon + 1)};
}

std::string_view default_port(std::string_view scheme) {
  if (boost::beast::iequals(scheme, "http")) return "80";
  if (boost::beast::iequals(scheme, "https")) return "443";
  return {};
}

// Compares the Origin's host and port with the Host header. A missing port
// on either side means the default port of the Origin's scheme.
std::optional<std::string> compare_origin_with_host(std::string_view origin, std::string_view host_header) {
  const auto separator = origin.find("://");
  if (separator == std::string_view::npos || separator == 0) return "Origin " + quote(origin) + " is not a valid origin";
  const auto scheme = origin.substr(0, separator);
  const auto authority = origin.substr(separator + 3);
  if (authority.find_first_of("/?#@ ") != std::string_view::npos) {
    return "Origin " + quote(origin) + " is not a valid origin";
  }

  const auto origin_parts = split_authority(authority);
  if (!origin_parts || origin_parts->host.empty()) return "Origin " + quote(origin) + " is not a valid origin";

  if (host_header.empty()) return "Origin is present but the Host header is missing";
  const auto host_parts = split_authority(host_header);
  if (!host_parts) return "Host " + quote(host_header) + " is not a valid host";

  const auto origin_port = origin_parts->port.empty() ? default_port(scheme) : origin_parts->port;
  const auto host_port = host_parts->port.empty() ? default_port(scheme) : host_parts->port;
  if (boost::beast::iequals(origin_parts->host, host_parts->host) && origin_port == host_port) return std::nullopt;

  return "Origin " + quote(origin) + " does not match Host " + quote(host_header);
}

}  // namespace

std::optional<std::string> cross_site_rejection(const request& req) {
  if (is_safe_method(req.method())) return std::nullopt;

  // Browsers send Sec-Fetch-Site themselves and scripts cannot forge it, so
  // when it is present it decides alone. Only the four values of the Fetch
  // Metadata standard exist, and anything else is rejected as forged.
  const auto fetch_site_field = req.find(beast_http::field::sec_fetch_site);
  if (fetch_site_field != req.end()) {
    const auto fetch_site = trim(fetch_site_field->value());
    if (boost::beast::iequals(fetch_site, "same-origin") || boost::beast::iequals(fetch_site, "none")) {
      return std::nullopt;
    }
    if (boost::beast::iequals(fetch_site, "cross-site") || boost::beast::iequals(fetch_site, "same-site")) {
      return "cross-site request rejected: Sec-Fetch-Site is " + std::string(fetch_site);
    }
    return "cross-site request rejected: Sec-Fetch-Site " + quote(fetch_site) + " is not a known value";
  }

  const auto origin_field = req.find(beast_http::field::origin);
  if (origin_field == req.end()) return std::nullopt;

  const auto origin = trim(origin_field->value());
  if (origin == "null") return std::string("cross-site request rejected: Origin is null");

  auto mismatch = compare_origin_with_host(origin, trim(req[beast_http::field::host]));
  if (!mismatch) return std::nullopt;
  return "cross-site request rejected: " + *mismatch;
}

}  // namespace todo::http
