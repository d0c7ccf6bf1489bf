#pragma once

// Data model of a finished span, shaped after the OTLP trace protobuf so that an exporter
// can write it without translation.

#include "obs/trace_context.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace todo::obs {

/// Role of a span in a request, with the integer values of the OTLP Span.SpanKind enum.
enum class span_kind : int { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };

/// Outcome of a span, with the integer values of the OTLP Status.StatusCode enum.
enum class span_status_code : int { unset = 0, ok = 1, error = 2 };

using attribute_value = std::variant<std::string, std::int64_t, double, bool>;

struct attribute {
  std::string key;
  attribute_value value;
};

struct span_status {
  span_status_code code = span_status_code::unset;
  std::string message;  ///< Error description. Empty unless code is error.
};

/// Timestamped annotation inside a span, such as an exception.
struct span_event {
  std::string name;
  std::uint64_t time_unix_nano = 0;  ///< Nanoseconds since the Unix epoch.
  std::vector<attribute> attributes;
};

struct span {
  std::string name;
  span_kind kind = span_kind::internal;
  span_context context;
  std::optional<span_id> parent_span_id;  ///< Empty for a root span.
  std::uint64_t start_time_unix_nano = 0;  ///< Nanoseconds since the Unix epoch.
  std::uint64_t end_time_unix_nano = 0;    ///< Nanoseconds since the Unix epoch.
  std::vector<attribute> attributes;
  std::vector<span_event> events;
  span_status status;
};

}  // namespace todo::obs
