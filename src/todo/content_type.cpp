#include "todo/content_type.hpp"

#include <algorithm>
#include <cctype>

namespace todo::domain {

namespace {

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// Returns the unquoted, lower-cased value of `charset`, or an empty string
// when the parameter is absent.
std::string charset_parameter(std::string_view content_type) {
  std::size_t semicolon = content_type.find(';');
  while (semicolon != std::string_view::npos) {
    content_type.remove_prefix(semicolon + 1);
    semicolon = content_type.find(';');
    const auto parameter = trim_spaces(content_type.substr(0, semicolon));

    const auto equals = parameter.find('=');
    if (equals == std::string_view::npos) continue;
    if (to_lower(trim_spaces(parameter.substr(0, equals))) != "charset") continue;

    auto value = trim_spaces(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return to_lower(value);
  }
  return {};
}

}  // namespace

std::string media_type(std::string_view content_type) {
  return to_lower(trim_spaces(content_type.substr(0, content_type.find(';'))));
}

bool is_json_content_type(std::string_view content_type) {
  if (media_type(content_type) != "application/json") return false;

  const auto charset = charset_parameter(content_type);
  return charset.empty() || charset == "utf-8" || charset == "utf8";
}

bool is_form_content_type(std::string_view content_type) {
  return media_type(content_type) == "application/x-www-form-urlencoded";
}

}  // namespace todo::domain
