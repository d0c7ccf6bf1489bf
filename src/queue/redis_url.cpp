#include "queue/redis_url.hpp"

#include <charconv>
#include <cctype>
#include <limits>
#include <optional>
#include <stdexcept>

namespace todo::queue {

namespace {

constexpr std::string_view expected_form = "expected redis://[[user]:password@]host[:port][/db]";

[[noreturn]] void reject(std::string_view url, std::string_view reason) {
  throw std::invalid_argument("invalid Redis URL '" + redact_redis_url(url) + "': " + std::string(reason));
}

bool equals_ignoring_case(std::string_view left, std::string_view right) {
  if (left.size() != right.size()) return false;
  for (std::size_t i = 0; i < left.size(); ++i) {
    const auto a = static_cast<unsigned char>(left[i]);
    const auto b = static_cast<unsigned char>(right[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Returns nullopt for a '%' that is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return decoded;
}

bool is_host_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
  return hex_value(c) >= 0 || c == ':' || c == '.';
}

// Parses a decimal number without sign in [min, max].
template <typename Number>
std::optional<Number> parse_decimal(std::string_view text, Number min, Number max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (text.front() == '-' || text.front() == '+') return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return static_cast<Number>(value);
}

void parse_user_info(std::string_view url, std::string_view user_info, redis_url& parsed) {
  const auto colon = user_info.find(':');
  const std::string_view user = user_info.substr(0, colon);
  const std::string_view password =
      colon == std::string_view::npos ? std::string_view() : user_info.substr(colon + 1);

  auto decoded_user = percent_decode(user);
  if (!decoded_user) reject(url, "the user name contains an invalid percent escape");
  auto decoded_password = percent_decode(password);
  if (!decoded_password) reject(url, "the password contains an invalid percent escape");
  if (!decoded_user->empty() && decoded_password->empty()) {
    reject(url, "the user name has no password; write redis://user:password@host, "
                "or leave out the user");
  }

  parsed.username = std::move(*decoded_user);
  parsed.password = std::move(*decoded_password);
}

void parse_host_and_port(std::string_view url, std::string_view host_port, redis_url& parsed) {
  std::string_view host;
  std::string_view rest;
  if (host_port.starts_with('[')) {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos) reject(url, "the IPv6 address has no closing ']'");
    host = host_port.substr(1, close - 1);
    rest = host_port.substr(close + 1);
    if (host.empty()) reject(url, "missing host");
    for (char c : host) {
      if (!is_ipv6_char(c)) reject(url, "the IPv6 address may contain only hex digits, ':' and '.'");
    }
    if (!rest.empty() && !rest.starts_with(':')) reject(url, "unexpected text after the IPv6 address");
  } else {
    const auto colon = host_port.find(':');
    host = host_port.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : host_port.substr(colon);
    if (host.empty()) reject(url, "missing host");
    for (char c : host) {
      if (!is_host_name_char(c)) {
        reject(url, "the host may contain only letters, digits, '-', '.' and '_' "
                    "(write an IPv6 address in brackets)");
      }
    }
  }
  parsed.host = std::string(host);

  if (rest.empty()) return;
  const auto port = parse_decimal<std::uint16_t>(rest.substr(1), 1, 65535);
  if (!port) reject(url, "the port must be a number from 1 to 65535");
  parsed.port = *port;
}

void parse_db(std::string_view url, std::string_view path, redis_url& parsed) {
  if (path.empty() || path == "/") return;

  const auto db = parse_decimal<int>(path.substr(1), 0, std::numeric_limits<int>::max());
  if (!db) reject(url, "the path must be a database number from 0 to 2147483647, such as /0");
  parsed.db = *db;
}

}  // namespace

std::string redis_url::endpoint() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string text = ipv6 ? "[" + host + "]" : host;
  text += ":" + std::to_string(port) + "/" + std::to_string(db);
  return text;
}

redis_url parse_redis_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // Without a scheme the text may be anything, so it is not repeated.
    throw std::invalid_argument("invalid Redis URL: " + std::string(expected_form));
  }

  const std::string_view scheme = url.substr(0, scheme_end);
  if (equals_ignoring_case(scheme, "rediss")) {
    reject(url, "TLS (rediss://) is not supported; use redis:// to a Redis on a trusted network");
  }
  if (!equals_ignoring_case(scheme, "redis")) {
    reject(url, "unsupported scheme '" + std::string(scheme) + "', " + std::string(expected_form));
  }

  // The user info ends at the last '@', so a password may contain '@', '/'
  // or '?' even when the caller did not percent-encode them.
  std::string_view rest = url.substr(scheme_end + 3);
  redis_url parsed;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    parse_user_info(url, rest.substr(0, at), parsed);
    rest = rest.substr(at + 1);
  }

  if (rest.find_first_of("?#") != std::string_view::npos) {
    reject(url, "query parameters and fragments are not supported; give the database number "
                "in the path, such as redis://host:6379/1");
  }

  const auto slash = rest.find('/');
  parse_host_and_port(url, rest.substr(0, slash), parsed);
  if (slash != std::string_view::npos) parse_db(url, rest.substr(slash), parsed);
  return parsed;
}

std::string redact_redis_url(std::string_view url) {
  const auto at = url.rfind('@');
  if (at == std::string_view::npos) return std::string(url);

  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end > at) {
    // Not a URL we understand: hide everything before the '@'.
    return "***" + std::string(url.substr(at));
  }

  const auto user_start = scheme_end + 3;
  const auto colon = url.find(':', user_start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);

  std::string redacted(url.substr(0, colon + 1));
  redacted += "***";
  redacted += url.substr(at);
  return redacted;
}

}  // namespace todo::queue
