#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace todo::domain {

/// Longest todo text, counted in Unicode code points, not bytes.
inline constexpr std::size_t max_text_characters = 500;

/// The reason check_todo_text rejected a text. Callers treat `empty` apart
/// from the others: the add form ignores an empty task instead of failing.
enum class text_problem { none, empty, invalid_utf8, control_character, too_long };

/// Either the cleaned text or the reason it was rejected.
struct text_check {
  std::string text;                           // trimmed of surrounding white space
  text_problem problem = text_problem::none;
  std::string error;                          // message for the client, empty when valid
  bool ok() const noexcept { return problem == text_problem::none; }
};

/// Trims white space (ASCII and Unicode White_Space such as U+00A0) and
/// rejects empty text, invalid UTF-8, control characters (C0, DEL and C1)
/// and text longer than max_text_characters. Invalid UTF-8 covers overlong
/// forms, surrogates, truncated sequences and values above U+10FFFF.
text_check check_todo_text(std::string_view raw);

/// Parses a todo id from a path segment: decimal digits only, with no sign,
/// space or exponent, and a value from 1 to 9223372036854775807. Leading zeros
/// are allowed. Returns nullopt otherwise.
std::optional<std::int64_t> parse_todo_id(std::string_view text) noexcept;

/// Decodes an application/x-www-form-urlencoded body: '&' separates fields,
/// '+' is a space and %XX an escaped byte. Returns nullopt when a '%' is not
/// followed by two hex digits. Later duplicates of a key are ignored. Decoded
/// values are raw bytes and may be invalid UTF-8, so check them afterwards.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body);

}  // namespace todo::domain
