#pragma once

// Writers for the pieces of a text exposition line, shared by families and collectors.

#include "obs/metrics.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace todo::obs {

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*`.
bool is_valid_metric_name(std::string_view name) noexcept;

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*`. Names starting with `__` are
/// reserved for Prometheus and rejected.
bool is_valid_label_name(std::string_view name) noexcept;

/// Appends a label value with backslash, double quote and line feed escaped. Bytes that are
/// not valid UTF-8 become U+FFFD, because a parser rejects the whole exposition otherwise.
void append_escaped_label_value(std::string& out, std::string_view text);

/// Appends HELP text with backslash and line feed escaped. OpenMetrics also escapes the
/// double quote, which the 0.0.4 parser would reject as an unknown escape sequence.
void append_escaped_help(std::string& out, std::string_view text, exposition_format format);

/// Appends a sample value as NaN, +Inf or -Inf, as a plain integer when it is integral and
/// below 2^63 in magnitude, and otherwise in the shortest form that parses back to the
/// same double. std::to_chars ignores the global locale, so the decimal point is always '.'.
void append_sample_value(std::string& out, double value);

/// Appends a histogram bound for the `le` label. OpenMetrics 1.0 requires canonical numbers,
/// which are Go's `%g` with ".0" added to integers (1.0, 0.0005, 1e+06). Text 0.0.4 gets
/// append_sample_value() instead (1, 0.0005, 1000000).
void append_bucket_bound(std::string& out, double bound, exposition_format format);

/// Appends a Unix time in seconds with three decimals, such as 1700000000.123.
void append_timestamp_seconds(std::string& out, std::int64_t milliseconds_since_epoch);

/// Returns the type as TYPE lines spell it: counter, gauge or histogram.
std::string_view metric_type_name(metric_type type) noexcept;

/// Returns the name on TYPE and HELP lines: OpenMetrics drops a counter's `_total` suffix.
std::string_view metadata_name(std::string_view name, metric_type type, exposition_format format);

/// Appends the TYPE and HELP lines of a family, in the order each format uses. An empty
/// help text writes no HELP line.
void append_metadata(std::string& out, exposition_format format, metric_type type,
                     std::string_view name, std::string_view help);

/// Appends the start of a sample line: name, suffix and labels, without the value. A
/// non-empty `le_text` adds the `le` label last, written as given.
void append_sample_name(std::string& out, std::string_view name, std::string_view suffix,
                        std::span<const std::string> label_names,
                        std::span<const std::string> label_values, std::string_view le_text = {});

}  // namespace todo::obs
