#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace todo::domain {

/// Job states, named as Celery names them because existing clients poll for
/// these exact strings: PENDING, STARTED, RETRY, SUCCESS, FAILURE.
namespace job_state {
inline constexpr std::string_view pending = "PENDING";
inline constexpr std::string_view started = "STARTED";
inline constexpr std::string_view retry = "RETRY";
inline constexpr std::string_view success = "SUCCESS";
inline constexpr std::string_view failure = "FAILURE";
}  // namespace job_state

/// The job type of a CSV export, on the stream and in export_jobs.job_type.
inline constexpr std::string_view export_job_type = "export_csv";

/// The filter that selects the todos of an export.
struct export_filters {
  std::optional<bool> done;  // nullopt: all todos

  /// The filters as a JSON object, such as {"done":true} or {}.
  std::string to_json() const;
  /// Reads what to_json wrote; unknown keys are ignored.
  static export_filters from_json(std::string_view json);
};

/// One row of export_jobs.
struct export_job {
  std::string id;  // a UUID
  std::string state;
  export_filters filters;
  int attempts = 0;
  std::optional<std::int64_t> row_count;
  std::optional<std::string> error;
  std::string request_id;
  std::string traceparent;
};

}  // namespace todo::domain
