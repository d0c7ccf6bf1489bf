#include "obs/metrics_text.hpp"

#include "obs/utf8.hpp"

#include <charconv>
#include <cmath>

namespace todo::obs {

namespace {

constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";

bool is_ascii_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }


void append_escaped(std::string& out, std::string_view text, bool escape_double_quote) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\\') {
      out.append("\\\\");
      ++i;
      continue;
    }
    if (c == '\n') {
      out.append("\\n");
      ++i;
      continue;
    }
    if (c == '"' && escape_double_quote) {
      out.append("\\\"");
      ++i;
      continue;
    }

    const std::size_t length = utf8_character_length(text.substr(i));
    if (length == 0) {
      out.append(utf8_replacement);
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
}

// Appends the shortest round-trip digits of a finite value in the layout of Go's `%g`, which
// OpenMetrics 1.0 names as its canonical rendering. The exponent form is used when the
// decimal exponent is below -4 or at least 6, and the fixed form otherwise.
void append_shortest(std::string& out, double value) {
  char digits[64];
  const auto scientific = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::scientific);
  const std::string_view scientific_text(digits, static_cast<std::size_t>(scientific.ptr - digits));
  std::string_view exponent_text = scientific_text.substr(scientific_text.find('e') + 1);
  if (exponent_text.starts_with('+')) exponent_text.remove_prefix(1);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  if (exponent < -4 || exponent >= 6) {
    out.append(scientific_text);
    return;
  }

  const auto fixed = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed);
  out.append(digits, fixed.ptr);
}

bool append_non_finite(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return true;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return true;
  }
  return false;
}

void append_help_line(std::string& out, exposition_format format, std::string_view name, std::string_view help) {
  if (help.empty()) return;
  out.append("# HELP ");
  out.append(name);
  out.push_back(' ');
  append_escaped_help(out, help, format);
  out.push_back('\n');
}

void append_type_line(std::string& out, std::string_view name, metric_type type) {
  out.append("# TYPE ");
  out.append(name);
  out.push_back(' ');
  out.append(metric_type_name(type));
  out.push_back('\n');
}

}  // namespace

bool is_valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || is_ascii_digit(name.front())) return false;
  for (const char c : name) {
    if (!is_ascii_letter(c) && !is_ascii_digit(c) && c != '_' && c != ':') return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) noexcept {
  if (name.empty() || is_ascii_digit(name.front())) return false;
  if (name.starts_with("__")) return false;
  for (const char c : name) {
    if (!is_ascii_letter(c) && !is_ascii_digit(c) && c != '_') return false;
  }
  return true;
}

void append_escaped_label_value(std::string& out, std::string_view text) {
  append_escaped(out, text, true);
}

void append_escaped_help(std::string& out, std::string_view text, exposition_format format) {
  append_escaped(out, text, format == exposition_format::openmetrics);
}

void append_sample_value(std::string& out, double value) {
  if (append_non_finite(out, value)) return;

  constexpr double two_to_63 = 9223372036854775808.0;
  if (value == std::trunc(value) && std::fabs(value) < two_to_63) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, static_cast<std::int64_t>(value)).ptr;
    out.append(digits, end);
    return;
  }
  append_shortest(out, value);
}

void append_bucket_bound(std::string& out, double bound, exposition_format format) {
  if (format == exposition_format::text) {
    append_sample_value(out, bound);
    return;
  }
  if (append_non_finite(out, bound)) return;

  const std::size_t start = out.size();
  append_shortest(out, bound);
  if (out.find_first_of(".e", start) == std::string::npos) out.append(".0");
}

void append_timestamp_seconds(std::string& out, std::int64_t milliseconds_since_epoch) {
  // The sign is written separately so that -1 ms becomes -0.001, not -1 + 0.999.
  std::uint64_t magnitude = static_cast<std::uint64_t>(milliseconds_since_epoch);
  if (milliseconds_since_epoch < 0) {
    out.push_back('-');
    magnitude = 0 - magnitude;
  }
  const std::uint64_t milliseconds = magnitude % 1000;

  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, magnitude / 1000).ptr);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + milliseconds / 100));
  out.push_back(static_cast<char>('0' + milliseconds / 10 % 10));
  out.push_back(static_cast<char>('0' + milliseconds % 10));
}

std::string_view metric_type_name(metric_type type) noexcept {
  switch (type) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "unknown";
}

std::string_view metadata_name(std::string_view name, metric_type type, exposition_format format) {
  if (format == exposition_format::openmetrics && type == metric_type::counter && name.ends_with("_total")) {
    name.remove_suffix(std::string_view("_total").size());
  }
  return name;
}

void append_metadata(std::string& out, exposition_format format, metric_type type,
                     std::string_view name, std::string_view help) {
  const std::string_view family_name = metadata_name(name, type, format);
  if (format == exposition_format::openmetrics) {
    append_type_line(out, family_name, type);
    append_help_line(out, format, family_name, help);
    return;
  }
  append_help_line(out, format, family_name, help);
  append_type_line(out, family_name, type);
}

void append_sample_name(std::string& out, std::string_view name, std::string_view suffix,
                        std::span<const std::string> label_names,
                        std::span<const std::string> label_values, std::string_view le_text) {
  out.append(name);
  out.append(suffix);
  if (label_names.empty() && le_text.empty()) return;

  out.push_back('{');
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append(label_names[i]);
    out.append("=\"");
    append_escaped_label_value(out, label_values[i]);
    out.push_back('"');
  }
  if (!le_text.empty()) {
    if (!label_names.empty()) out.push_back(',');
    out.append("le=\"");
    out.append(le_text);
    out.push_back('"');
  }
  out.push_back('}');
}

}  // namespace todo::obs
