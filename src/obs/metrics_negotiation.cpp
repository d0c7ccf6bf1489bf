#include "obs/metrics.hpp"

#include <algorithm>
#include <optional>

namespace todo::obs {

namespace {

// Precedence of a media range that matches text/plain 0.0.4. RFC 9110, section 12.5.1, takes
// the q-value of the most specific matching range, even when a broader one has a higher q-value.
enum class text_match { none = 0, any = 1, text_any = 2, text_plain = 3, text_plain_0_0_4 = 4 };

struct media_range {
  bool openmetrics_1 = false;
  text_match text = text_match::none;
  double q = 1.0;
};

std::string_view trim(std::string_view text) noexcept {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Calls `visit` with each part of `text` between separators that are outside a quoted string.
template <class Visit>
void split_outside_quotes(std::string_view text, char separator, Visit visit) {
  bool quoted = false;
  bool escaped = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (escaped) {
      escaped = false;
    } else if (quoted) {
      if (c == '\\') escaped = true;
      if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == separator) {
      visit(text.substr(start, i - start));
      start = i + 1;
    }
  }
  visit(text.substr(start));
}

std::string_view unquote(std::string_view value) noexcept {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

// Parses a qvalue as RFC 9110 defines it: 0 to 1 with at most three decimals.
std::optional<double> parse_qvalue(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (text[0] != '0' && text[0] != '1') return std::nullopt;
  if (text.size() == 1) return text[0] == '1' ? 1.0 : 0.0;
  if (text[1] != '.') return std::nullopt;

  int thousandths = 0;
  int scale = 100;
  for (const char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    thousandths += (c - '0') * scale;
    scale /= 10;
  }
  if (text[0] == '1') return thousandths == 0 ? std::optional<double>(1.0) : std::nullopt;
  return thousandths / 1000.0;
}

// Parses one element of an Accept header. Returns nothing for an element that is malformed
// or that matches neither text/plain 0.0.4 nor OpenMetrics 1.0.0.
std::optional<media_range> parse_media_range(std::string_view element) noexcept {
  media_range range;
  bool first = true;
  bool valid = true;
  std::string_view media_type;
  std::string_view version;
  bool has_version = false;

  split_outside_quotes(element, ';', [&](std::string_view part) {
    part = trim(part);
    if (first) {
      first = false;
      media_type = part;
      return;
    }
    if (part.empty()) return;
    const std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) {
      valid = false;
      return;
    }
    const std::string_view name = trim(part.substr(0, equals));
    const std::string_view value = unquote(trim(part.substr(equals + 1)));
    if (equals_ignoring_case(name, "q")) {
      const auto q = parse_qvalue(value);
      if (!q) valid = false;
      range.q = q.value_or(0.0);
    } else if (equals_ignoring_case(name, "version")) {
      has_version = true;
      version = value;
    }
  });
  if (!valid) return std::nullopt;

  if (equals_ignoring_case(media_type, "application/openmetrics-text")) {
    if (has_version && version != "1.0.0") return std::nullopt;
    range.openmetrics_1 = true;
  } else if (equals_ignoring_case(media_type, "text/plain")) {
    if (has_version && version != "0.0.4") return std::nullopt;
    range.text = has_version ? text_match::text_plain_0_0_4 : text_match::text_plain;
  } else if (equals_ignoring_case(media_type, "text/*")) {
    range.text = text_match::text_any;
  } else if (media_type == "*/*") {
    range.text = text_match::any;
  } else {
    return std::nullopt;
  }
  return range;
}

}  // namespace

std::string_view content_type(exposition_format format) noexcept {
  switch (format) {
    case exposition_format::text: return "text/plain; version=0.0.4; charset=utf-8";
    case exposition_format::openmetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8";
  }
  return "text/plain; version=0.0.4; charset=utf-8";
}

exposition_format negotiate_format(std::string_view accept_header) noexcept {
  double openmetrics_q = 0.0;
  text_match text_specificity = text_match::none;
  double text_q = 0.0;

  split_outside_quotes(accept_header, ',', [&](std::string_view element) {
    const auto range = parse_media_range(trim(element));
    if (!range) return;
    if (range->openmetrics_1) {
      openmetrics_q = std::max(openmetrics_q, range->q);
      return;
    }
    if (range->text > text_specificity) {
      text_specificity = range->text;
      text_q = range->q;
    } else if (range->text == text_specificity) {
      text_q = std::max(text_q, range->q);
    }
  });

  if (openmetrics_q > 0.0 && openmetrics_q >= text_q) return exposition_format::openmetrics;
  return exposition_format::text;
}

}  // namespace todo::obs
