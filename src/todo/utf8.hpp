#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace todo::domain {

/// One decoded character and the bytes it came from.
struct code_point {
  char32_t value = 0;
  std::size_t offset = 0;  // index of the first byte in the input
  std::size_t length = 0;  // 1 to 4 bytes
};

/// Decodes strict UTF-8 (RFC 3629). Returns nullopt for stray continuation
/// bytes, truncated sequences, overlong forms, surrogates (U+D800 to U+DFFF)
/// and values above U+10FFFF.
std::optional<std::vector<code_point>> decode_utf8(std::string_view text);

/// True for characters with the Unicode White_Space property.
bool is_unicode_white_space(char32_t value) noexcept;

/// True for C0 controls (U+0000 to U+001F), DEL and C1 controls (U+0080 to U+009F).
bool is_control_character(char32_t value) noexcept;

}  // namespace todo::domain
