#pragma once

#include <string>
#include <string_view>

namespace todo::domain {

/// Returns the media type of a Content-Type header value, lower-cased and
/// without parameters: "Application/JSON; charset=UTF-8" gives "application/json".
std::string media_type(std::string_view content_type);

/// True for application/json without a charset parameter or with charset
/// utf-8 or utf8 (in any case), because JSON bodies must be UTF-8.
bool is_json_content_type(std::string_view content_type);

/// True for application/x-www-form-urlencoded, with any parameters.
bool is_form_content_type(std::string_view content_type);

}  // namespace todo::domain
