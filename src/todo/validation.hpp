#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace todo::domain {

/// Longest todo text, counted in Unicode code points, not bytes.
inline constexpr std::size_t max_text_characters = 500;

/// Either the cleaned text or a message saying why it was rejected.
struct text_check {
  std::string text;   // trimmed of surrounding white space
  std::string error;  // empty when the text is valid
  bool ok() const noexcept { return error.empty(); }
};

/// Trims white space and rejects empty text, invalid UTF-8, control characters
/// (C0, DEL and C1) and text longer than max_text_characters.
text_check check_todo_text(std::string_view raw);

/// Parses a todo id from a path segment or JSON number text: decimal digits
/// only, 1 to 9223372036854775807. Returns nullopt otherwise.
std::optional<std::int64_t> parse_todo_id(std::string_view text) noexcept;

/// Decodes an application/x-www-form-urlencoded body. Returns nullopt when the
/// body is malformed (bad percent escapes). Later duplicates of a key are ignored.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body);

}  // namespace todo::domain
