#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace todo::obs {

enum class log_level { debug = 10, info = 20, warning = 30, error = 40, critical = 50 };

/// Appends the current time as ISO-8601 UTC with milliseconds, such as
/// 2026-01-02T03:04:05.678Z, the format of every timestamp the service writes.
void append_utc_timestamp(std::string& out);

/// The current time in the format of append_utc_timestamp.
std::string utc_timestamp_now();

/// Parses DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL in any case.
std::optional<log_level> parse_log_level(std::string_view name);

/// One value of a structured log field: a string, an integer, a real or a bool.
class log_value {
 public:
  enum class kind { string, integer, real, boolean };

  log_value(std::string_view text) : kind_(kind::string), text_(text) {}
  log_value(const std::string& text) : kind_(kind::string), text_(text) {}
  log_value(const char* text) : kind_(kind::string), text_(text) {}
  log_value(bool flag) : kind_(kind::boolean), boolean_(flag) {}
  log_value(int number) : kind_(kind::integer), integer_(number) {}
  log_value(long number) : kind_(kind::integer), integer_(number) {}
  log_value(long long number) : kind_(kind::integer), integer_(number) {}
  log_value(unsigned number) : kind_(kind::integer), integer_(number) {}
  log_value(unsigned long number) : kind_(kind::integer), integer_(static_cast<std::int64_t>(number)) {}
  log_value(unsigned long long number)
      : kind_(kind::integer), integer_(static_cast<std::int64_t>(number)) {}
  log_value(double number) : kind_(kind::real), real_(number) {}

  /// Appends the value as JSON.
  void append_json(std::string& out) const;

 private:
  kind kind_;
  std::string_view text_;
  std::int64_t integer_ = 0;
  double real_ = 0;
  bool boolean_ = false;
};

struct log_field {
  std::string_view key;
  log_value value;
};

/// Ids that tie a line to a request and, once tracing exists, to a span.
/// Empty ids are left out of the line.
struct log_context {
  std::string_view request_id;
  std::string_view trace_id;
  std::string_view span_id;
};

/// Starts the process-wide writer thread, which writes JSON lines to `fd`.
/// Lines queue in a bounded buffer of `capacity_bytes`; when the buffer is
/// full, new lines are dropped and counted instead of blocking the caller.
void start_logging(log_level min_level, int fd = 1, std::size_t capacity_bytes = 4 * 1024 * 1024);

/// Flushes the queue and joins the writer thread. Safe to call twice.
void stop_logging();

bool log_enabled(log_level level) noexcept;

/// Lines dropped because the buffer was full, since start.
std::uint64_t dropped_log_lines() noexcept;

/// Formats one line and queues it. Never blocks on the output and never throws.
void write_log(log_level level, std::string_view logger, const log_context& context,
               std::string_view message, std::initializer_list<log_field> fields = {}) noexcept;

/// Formats a line without queueing it. Exposed for tests.
std::string format_log_line(log_level level, std::string_view logger, const log_context& context,
                            std::string_view message, std::initializer_list<log_field> fields);

inline void log_debug(std::string_view logger, const log_context& context, std::string_view message,
                      std::initializer_list<log_field> fields = {}) noexcept {
  if (log_enabled(log_level::debug)) write_log(log_level::debug, logger, context, message, fields);
}
inline void log_info(std::string_view logger, const log_context& context, std::string_view message,
                     std::initializer_list<log_field> fields = {}) noexcept {
  if (log_enabled(log_level::info)) write_log(log_level::info, logger, context, message, fields);
}
inline void log_warning(std::string_view logger, const log_context& context, std::string_view message,
                        std::initializer_list<log_field> fields = {}) noexcept {
  if (log_enabled(log_level::warning)) write_log(log_level::warning, logger, context, message, fields);
}
inline void log_error(std::string_view logger, const log_context& context, std::string_view message,
                      std::initializer_list<log_field> fields = {}) noexcept {
  if (log_enabled(log_level::error)) write_log(log_level::error, logger, context, message, fields);
}

}  // namespace todo::obs
