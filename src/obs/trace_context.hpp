#pragma once

// W3C Trace Context Level 1 ids and the traceparent and tracestate headers
// (https://www.w3.org/TR/trace-context/).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace todo::obs {

/// 16-byte trace id. All zeros is the invalid id.
struct trace_id {
  std::array<std::uint8_t, 16> bytes{};

  bool valid() const noexcept;
  /// Returns 32 lowercase hex digits.
  std::string to_hex() const;
  /// Parses exactly 32 lowercase hex digits. Returns nothing on any other input, including
  /// the all-zero id.
  static std::optional<trace_id> from_hex(std::string_view hex) noexcept;
  /// Returns a random id from a thread-local engine seeded by std::random_device. Never all
  /// zero. Throws what std::random_device throws when it fails on first use in a thread.
  static trace_id generate();

  friend bool operator==(const trace_id&, const trace_id&) = default;
};

/// 8-byte span id, also called parent-id in traceparent. All zeros is the invalid id.
struct span_id {
  std::array<std::uint8_t, 8> bytes{};

  bool valid() const noexcept;
  /// Returns 16 lowercase hex digits.
  std::string to_hex() const;
  /// Parses exactly 16 lowercase hex digits. Returns nothing on any other input, including
  /// the all-zero id.
  static std::optional<span_id> from_hex(std::string_view hex) noexcept;
  /// Returns a random id from a thread-local engine seeded by std::random_device. Never all
  /// zero. Throws what std::random_device throws when it fails on first use in a thread.
  static span_id generate();

  friend bool operator==(const span_id&, const span_id&) = default;
};

/// Bit of trace-flags that marks the trace as sampled by the caller.
inline constexpr std::uint8_t trace_flag_sampled = 0x01;

/// Identity of one span as it crosses process boundaries.
struct span_context {
  obs::trace_id trace_id;
  obs::span_id span_id;
  std::uint8_t flags = 0;  ///< trace-flags byte. Only bit 0 (sampled) is defined.
  std::string tracestate;  ///< Validated tracestate header value, or empty.
  bool remote = false;     ///< True when parsed from an incoming request.

  bool sampled() const noexcept { return (flags & trace_flag_sampled) != 0; }
};

/// Parses a traceparent header value. The result has `remote` set and an empty tracestate.
/// Every field must be lowercase hex, and the version must not be `ff`. A version 00 value
/// must be exactly 55 characters long. A later version may be longer when its 56th character
/// is '-', and then only the first four fields are read. Returns nothing for any other input
/// and for an all-zero trace-id or parent-id.
std::optional<span_context> parse_traceparent(std::string_view header) noexcept;

/// Formats the context as a version 00 traceparent value, 55 characters long.
std::string format_traceparent(const span_context& context);

/// Maximum length in characters of a tracestate value that is propagated.
inline constexpr std::size_t max_tracestate_length = 512;

/// Maximum number of list-members in a tracestate value.
inline constexpr std::size_t max_tracestate_members = 32;

/// Validates a tracestate header value and returns it with the whitespace around commas and
/// the empty list-members removed. Returns an empty string, so that the header is dropped,
/// when a list-member breaks the key or value grammar of Level 1, when there are more than
/// 32 list-members, or when the result is longer than 512 characters.
std::string validate_tracestate(std::string_view header);

}  // namespace todo::obs
