#pragma once

#include "http/types.hpp"

#include <string_view>

namespace todo::http {

/// Facts of one request for its access log line, besides the request context.
struct access_record {
  std::string_view method;      // as received, empty when the request line was unreadable
  std::string_view path;        // without the query, empty when unreadable
  unsigned status_code = 0;
  std::string_view user_agent;
};

/// Writes the one INFO line of logger "todo.access" that each request gets,
/// with message "METHOD PATH STATUS" ("-" for an empty part) and the fields request_id, http.method,
/// http.path, status_code, duration_ms (since context.received_at), client_ip,
/// user_agent and route.
void log_access(const request_context& context, const access_record& record) noexcept;

}  // namespace todo::http
