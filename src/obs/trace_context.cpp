#include "obs/trace_context.hpp"

#include <algorithm>
#include <random>
#include <span>
#include <vector>

namespace todo::obs {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// Returns the value of one lowercase hex digit, or -1 for any other character.
int lower_hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool all_zero(std::span<const std::uint8_t> bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string encode_hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto byte : bytes) {
    out.push_back(hex_digits[byte >> 4]);
    out.push_back(hex_digits[byte & 0x0f]);
  }
  return out;
}

/// Decodes exactly 2 * out.size() lowercase hex digits into `out`.
bool decode_hex(std::string_view hex, std::span<std::uint8_t> out) noexcept {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = lower_hex_value(hex[2 * i]);
    const int low = lower_hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return true;
}

/// Fills `out` with random bytes, drawing again until at least one byte is not zero.
void fill_random_nonzero(std::span<std::uint8_t> out) {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64{seed};
  }()};

  do {
    for (std::size_t i = 0; i < out.size(); i += 8) {
      std::uint64_t word = engine();
      for (std::size_t j = i; j < out.size() && j < i + 8; ++j) {
        out[j] = static_cast<std::uint8_t>(word);
        word >>= 8;
      }
    }
  } while (all_zero(out));
}

// Character classes of the Level 1 tracestate grammar.
bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_key_char(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}
bool is_value_nonblank_char(char c) noexcept {
  return c >= 0x21 && c <= 0x7e && c != ',' && c != '=';
}
bool is_optional_whitespace(char c) noexcept { return c == ' ' || c == '\t'; }

/// Checks `text` against `first-char 0*max_rest(key-char)`.
bool matches_key_part(std::string_view text, bool digit_may_start, std::size_t max_rest) noexcept {
  if (text.empty() || text.size() > max_rest + 1) return false;
  const char first = text.front();
  if (!is_lcalpha(first) && !(digit_may_start && is_digit(first))) return false;
  return std::all_of(text.begin() + 1, text.end(), is_key_char);
}

/// Checks a key. A simple-key has up to 256 characters and starts with a lowercase letter.
/// A multi-tenant key is tenant-id "@" system-id. Its tenant-id has up to 241 characters and
/// may also start with a digit, and its system-id has up to 14 characters.
bool valid_tracestate_key(std::string_view key) noexcept {
  const auto at = key.find('@');
  if (at == std::string_view::npos) return matches_key_part(key, false, 255);
  return matches_key_part(key.substr(0, at), true, 240) &&
         matches_key_part(key.substr(at + 1), false, 13);
}

/// Checks a value: 1 to 256 printable ASCII characters other than ',' and '=', where only
/// the last one must not be a space.
bool valid_tracestate_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256) return false;
  if (!is_value_nonblank_char(value.back())) return false;
  return std::all_of(value.begin(), value.end() - 1,
                     [](char c) { return c == ' ' || is_value_nonblank_char(c); });
}

std::string_view trim_optional_whitespace(std::string_view text) noexcept {
  while (!text.empty() && is_optional_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_optional_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

bool trace_id::valid() const noexcept { return !all_zero(bytes); }

std::string trace_id::to_hex() const { return encode_hex(bytes); }

std::optional<trace_id> trace_id::from_hex(std::string_view hex) noexcept {
  trace_id id;
  if (!decode_hex(hex, id.bytes)) return std::nullopt;
  if (!id.valid()) return std::nullopt;
  return id;
}

trace_id trace_id::generate() {
  trace_id id;
  fill_random_nonzero(id.bytes);
  return id;
}

bool span_id::valid() const noexcept { return !all_zero(bytes); }

std::string span_id::to_hex() const { return encode_hex(bytes); }

std::optional<span_id> span_id::from_hex(std::string_view hex) noexcept {
  span_id id;
  if (!decode_hex(hex, id.bytes)) return std::nullopt;
  if (!id.valid()) return std::nullopt;
  return id;
}

span_id span_id::generate() {
  span_id id;
  fill_random_nonzero(id.bytes);
  return id;
}

std::optional<span_context> parse_traceparent(std::string_view header) noexcept {
  // Layout: <2 hex version>-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>, then for
  // versions above 00 optionally '-' and more fields.
  constexpr std::size_t version_00_length = 55;
  if (header.size() < version_00_length) return std::nullopt;

  std::uint8_t version = 0;
  if (!decode_hex(header.substr(0, 2), {&version, 1})) return std::nullopt;
  if (version == 0xff) return std::nullopt;
  if (version == 0x00 && header.size() != version_00_length) return std::nullopt;
  if (header.size() > version_00_length && header[version_00_length] != '-') return std::nullopt;

  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;

  span_context context;
  if (!decode_hex(header.substr(3, 32), context.trace_id.bytes)) return std::nullopt;
  if (!decode_hex(header.substr(36, 16), context.span_id.bytes)) return std::nullopt;
  if (!decode_hex(header.substr(53, 2), {&context.flags, 1})) return std::nullopt;
  if (!context.trace_id.valid() || !context.span_id.valid()) return std::nullopt;

  context.remote = true;
  return context;
}

std::string format_traceparent(const span_context& context) {
  std::string out = "00-";
  out += context.trace_id.to_hex();
  out += '-';
  out += context.span_id.to_hex();
  out += '-';
  out.push_back(hex_digits[context.flags >> 4]);
  out.push_back(hex_digits[context.flags & 0x0f]);
  return out;
}

std::string validate_tracestate(std::string_view header) {
  std::string out;
  std::size_t members = 0;

  while (true) {
    const auto comma = header.find(',');
    const auto member = trim_optional_whitespace(header.substr(0, comma));

    if (!member.empty()) {
      const auto equals = member.find('=');
      if (equals == std::string_view::npos) return {};
      if (!valid_tracestate_key(member.substr(0, equals))) return {};
      if (!valid_tracestate_value(member.substr(equals + 1))) return {};
      if (++members > max_tracestate_members) return {};

      if (!out.empty()) out += ',';
      out += member;
    }

    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }

  // NOTE: the spec lets a vendor remove list-members to fit 512 characters; this drops all.
  if (out.size() > max_tracestate_length) return {};
  return out;
}

}  // namespace todo::obs
