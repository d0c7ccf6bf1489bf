#include "obs/otlp_json.hpp"

#include "obs/json_escape.hpp"

#include <charconv>
#include <cmath>
#include <type_traits>

namespace todo::obs {
namespace {

void append_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

/// Appends `"key":` for a key that needs no escaping.
void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

/// Appends a 64-bit integer as a quoted decimal string, as the protobuf JSON mapping writes
/// int64 and fixed64 fields.
template <class Integer>
void append_quoted_integer(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out += '"';
  out.append(digits, end);
  out += '"';
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "\"NaN\"";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  // The shortest form that reads back as the same double.
  char digits[32];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

/// Appends an AnyValue object such as {"stringValue":"x"}.
void append_any_value(std::string& out, const attribute_value& value) {
  out += '{';
  std::visit(
      [&out](const auto& v) {
        using type = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<type, std::string>) {
          append_key(out, "stringValue");
          append_string(out, v);
        } else if constexpr (std::is_same_v<type, std::int64_t>) {
          append_key(out, "intValue");
          append_quoted_integer(out, v);
        } else if constexpr (std::is_same_v<type, double>) {
          append_key(out, "doubleValue");
          append_double(out, v);
        } else {
          append_key(out, "boolValue");
          out += v ? "true" : "false";
        }
      },
      value);
  out += '}';
}

void append_attribute(std::string& out, std::string_view key, const attribute_value& value) {
  out += '{';
  append_key(out, "key");
  append_string(out, key);
  out += ',';
  append_key(out, "value");
  append_any_value(out, value);
  out += '}';
}

/// Appends the elements of a KeyValue list, without the brackets.
void append_attribute_list(std::string& out, const std::vector<attribute>& attributes,
                           bool needs_leading_comma) {
  for (const auto& item : attributes) {
    if (needs_leading_comma) out += ',';
    needs_leading_comma = true;
    append_attribute(out, item.key, item.value);
  }
}

void append_resource(std::string& out, const resource_attributes& resource) {
  append_key(out, "resource");
  out += '{';
  append_key(out, "attributes");
  out += '[';
  append_attribute(out, "service.name", resource.service_name);
  append_attribute_list(out, resource.attributes, true);
  out += "]}";
}

void append_event(std::string& out, const span_event& event) {
  out += '{';
  append_key(out, "timeUnixNano");
  append_quoted_integer(out, event.time_unix_nano);
  out += ',';
  append_key(out, "name");
  append_string(out, event.name);
  out += ',';
  append_key(out, "attributes");
  out += '[';
  append_attribute_list(out, event.attributes, false);
  out += "]}";
}

void append_status(std::string& out, const span_status& status) {
  append_key(out, "status");
  out += '{';
  append_key(out, "code");
  out += std::to_string(static_cast<int>(status.code));
  if (!status.message.empty()) {
    out += ',';
    append_key(out, "message");
    append_string(out, status.message);
  }
  out += '}';
}

void append_span_ids(std::string& out, const span& item) {
  append_key(out, "traceId");
  append_string(out, item.context.trace_id.to_hex());
  out += ',';
  append_key(out, "spanId");
  append_string(out, item.context.span_id.to_hex());
  if (!item.context.tracestate.empty()) {
    out += ',';
    append_key(out, "traceState");
    append_string(out, item.context.tracestate);
  }
  if (item.parent_span_id) {
    out += ',';
    append_key(out, "parentSpanId");
    append_string(out, item.parent_span_id->to_hex());
  }
}

void append_span(std::string& out, const span& item) {
  out += '{';
  append_span_ids(out, item);

  out += ',';
  append_key(out, "name");
  append_string(out, item.name);
  out += ',';
  append_key(out, "kind");
  out += std::to_string(static_cast<int>(item.kind));
  out += ',';
  append_key(out, "startTimeUnixNano");
  append_quoted_integer(out, item.start_time_unix_nano);
  out += ',';
  append_key(out, "endTimeUnixNano");
  append_quoted_integer(out, item.end_time_unix_nano);

  out += ',';
  append_key(out, "attributes");
  out += '[';
  append_attribute_list(out, item.attributes, false);
  out += "],";

  append_key(out, "events");
  out += '[';
  for (std::size_t i = 0; i < item.events.size(); ++i) {
    if (i > 0) out += ',';
    append_event(out, item.events[i]);
  }
  out += "],";

  append_status(out, item.status);
  out += '}';
}

}  // namespace

std::string encode_export_request(const resource_attributes& resource,
                                  std::string_view scope_name, std::string_view scope_version,
                                  std::span<const span> spans) {
  std::string out;
  out += '{';
  append_key(out, "resourceSpans");
  out += "[{";
  append_resource(out, resource);
  out += ',';
  append_key(out, "scopeSpans");
  out += "[{";
  append_key(out, "scope");
  out += '{';
  append_key(out, "name");
  append_string(out, scope_name);
  out += ',';
  append_key(out, "version");
  append_string(out, scope_version);
  out += "},";
  append_key(out, "spans");
  out += '[';
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out += ',';
    append_span(out, spans[i]);
  }
  out += "]}]}]}";
  return out;
}

}  // namespace todo::obs
