#pragma once

#include <string>
#include <string_view>

namespace todo::config {

/// Converts DATABASE_URL to a URI that libpq accepts. The schemes postgresql://,
/// postgres:// and the SQLAlchemy form postgresql+psycopg2:// are accepted; any
/// other scheme throws config_error naming DATABASE_URL.
std::string normalize_database_url(std::string_view url);

/// Returns the URL with any password replaced by "***", for log lines.
std::string redact_database_url(std::string_view url);

}  // namespace todo::config
