#pragma once

#include <string>
#include <string_view>

namespace todo::http {

/// True for 1 to 64 characters of letters, digits, '.', '_' and '-'.
bool is_safe_request_id(std::string_view candidate) noexcept;

/// Returns the incoming X-Request-ID when it is safe, otherwise a new random UUID (version 4).
std::string choose_request_id(std::string_view incoming);

/// A random version 4 UUID in lower-case canonical form.
std::string random_uuid();

}  // namespace todo::http
