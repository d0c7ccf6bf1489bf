#include "config/database_url.hpp"

#include "config/env.hpp"

#include <array>

namespace todo::config {

std::string normalize_database_url(std::string_view url) {
  constexpr std::array<std::string_view, 3> schemes{"postgresql://", "postgres://",
                                                    "postgresql+psycopg2://"};
  for (std::string_view scheme : schemes) {
    if (url.starts_with(scheme)) {
      std::string normalized = "postgresql://";
      normalized.append(url.substr(scheme.size()));
      return normalized;
    }
  }
  throw config_error("DATABASE_URL",
                     "unsupported URL '" + redact_database_url(url) +
                         "', expected postgresql://user:password@host:port/dbname "
                         "(postgres:// and postgresql+psycopg2:// are accepted too)");
}

namespace {

// Replaces the value of a "password=" query parameter, which libpq accepts too.
std::string redact_password_parameter(std::string url) {
  for (std::string_view key : {"?password=", "&password="}) {
    auto start = url.find(key);
    if (start == std::string::npos) continue;
    start += key.size();
    auto end = url.find('&', start);
    if (end == std::string::npos) end = url.size();
    url.replace(start, end - start, "***");
  }
  return url;
}

std::string redact_user_info(std::string_view url) {
  // The user info ends at the last '@' before the first '/' of the path.
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);

  const auto authority_start = scheme_end + 3;
  auto authority_end = url.find_first_of("/?", authority_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();

  const auto at = url.rfind('@', authority_end);
  if (at == std::string_view::npos || at < authority_start) return std::string(url);

  const auto colon = url.find(':', authority_start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);

  std::string redacted(url.substr(0, colon + 1));
  redacted.append("***");
  redacted.append(url.substr(at));
  return redacted;
}

}  // namespace

std::string redact_database_url(std::string_view url) {
  return redact_password_parameter(redact_user_info(url));
}

}  // namespace todo::config
