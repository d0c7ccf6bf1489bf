#pragma once

#include <string>
#include <string_view>

namespace todo::obs {

/// Appends `text` to `out` as the inside of a JSON string. Quotes, backslashes
/// and every control character are escaped, and bytes that are not valid UTF-8
/// become U+FFFD, so untrusted input can neither end the string nor the line.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace todo::obs
