#include "http/access_log.hpp"

#include <string>

namespace todo::http {

void log_access(const request_context& context, const access_record& record) noexcept {
  if (!obs::log_enabled(obs::log_level::info)) return;

  try {
    const std::chrono::duration<double, std::milli> duration = std::chrono::steady_clock::now() - context.received_at;

    // An unreadable request has no method or path. The message shows "-" for
    // them, as the common log format does, and the fields stay empty.
    std::string message;
    message.reserve(record.method.size() + record.path.size() + 8);
    message.append(record.method.empty() ? "-" : record.method).append(" ");
    message.append(record.path.empty() ? "-" : record.path).append(" ");
    message.append(std::to_string(record.status_code));

    obs::log_info("todo.access", context.log(), message,
                  {{"http.method", record.method},
                   {"http.path", record.path},
                   {"status_code", record.status_code},
                   {"duration_ms", duration.count()},
                   {"client_ip", context.client_ip},
                   {"user_agent", record.user_agent},
                   {"route", context.route_name}});
  } catch (...) {
    // Only building the message can throw (out of memory), and then the line
    // is dropped as write_log itself would drop it.
  }
}

}  // namespace todo::http
