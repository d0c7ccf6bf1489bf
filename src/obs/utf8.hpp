#pragma once

#include <cstddef>
#include <string_view>

namespace todo::obs {

/// Returns the byte length of the well-formed UTF-8 character at the start
/// of `text`, or 0 when it is empty, malformed, overlong, a UTF-16 surrogate
/// or above U+10FFFF.
std::size_t utf8_character_length(std::string_view text) noexcept;

}  // namespace todo::obs
