#include "config/env.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace todo::config {

env env::from_process() {
  return env([](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

env env::from_map(std::map<std::string, std::string> values) {
  return env([values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  });
}

std::optional<std::string> env::get(std::string_view name) const {
  auto value = lookup_(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

std::string env::get_string(std::string_view name, std::string_view fallback) const {
  auto value = get(name);
  return value ? *value : std::string(fallback);
}

std::int64_t env::get_int(std::string_view name, std::int64_t fallback, std::int64_t min,
                          std::int64_t max) const {
  auto value = get(name);
  if (!value) return fallback;

  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  std::int64_t parsed = 0;
  const char* first = value->data();
  const char* last = first + value->size();
  auto [end, ec] = std::from_chars(first, last, parsed);
  if (ec != std::errc{} || end != last) {
    throw config_error(std::string(name), "invalid value '" + *value + "', expected " + range);
  }
  if (parsed < min || parsed > max) {
    throw config_error(std::string(name), "value " + *value + " is out of range, expected " + range);
  }
  return parsed;
}

bool env::get_bool(std::string_view name, bool fallback) const {
  auto value = get(name);
  if (!value) return fallback;

  std::string lower = *value;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  throw config_error(std::string(name), "invalid value '" + *value + "', expected true or false");
}

}  // namespace todo::config
