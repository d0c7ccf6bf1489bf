#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace todo::queue {

/// The parts of a broker URL redis://[[user]:password@]host[:port][/db].
struct redis_url {
  std::string host;
  std::uint16_t port = 6379;
  std::string username;  // empty: AUTH with the password only (the "default" user)
  std::string password;  // empty: no AUTH; never log it
  int db = 0;

  /// "host:port/db" for log lines; it never contains the user or password.
  std::string endpoint() const;
};

/// Parses a broker URL such as CELERY_BROKER_URL or REDIS_URL. The user and
/// password are percent-decoded; an IPv6 host is written in brackets.
/// Throws std::invalid_argument for another scheme (including rediss://,
/// because TLS is not supported), a missing host, a port outside 1-65535, a
/// db that is not a decimal number in 0-2147483647, a query or fragment, or an
/// invalid percent escape. The message shows the URL with the password
/// replaced by "***".
redis_url parse_redis_url(std::string_view url);

/// Returns the URL with the password replaced by "***", for log lines and
/// messages. In text without "://", everything before the last '@' is
/// replaced, because it cannot be told apart from a password.
std::string redact_redis_url(std::string_view url);

}  // namespace todo::queue
