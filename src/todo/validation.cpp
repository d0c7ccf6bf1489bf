#include "todo/validation.hpp"

#include "todo/utf8.hpp"

#include <charconv>
#include <cstdio>

namespace todo::domain {

namespace {

text_check reject(text_problem problem, std::string error) {
  text_check check;
  check.problem = problem;
  check.error = std::move(error);
  return check;
}

// Formats a code point the way Unicode charts name it, such as "U+0009".
std::string code_point_name(char32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(value));
  return buffer;
}

int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one key or value of a form body. Returns nullopt on a bad escape.
std::optional<std::string> decode_form_component(std::string_view encoded) {
  std::string decoded;
  decoded.reserve(encoded.size());

  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+') {
      decoded.push_back(' ');
      continue;
    }
    if (c != '%') {
      decoded.push_back(c);
      continue;
    }

    if (encoded.size() - i < 3) return std::nullopt;
    const int high = hex_digit_value(encoded[i + 1]);
    const int low = hex_digit_value(encoded[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    decoded.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return decoded;
}

}  // namespace

text_check check_todo_text(std::string_view raw) {
  auto decoded = decode_utf8(raw);
  if (!decoded) return reject(text_problem::invalid_utf8, "text is not valid UTF-8");

  std::size_t first = 0;
  std::size_t last = decoded->size();
  while (first < last && is_unicode_white_space((*decoded)[first].value)) ++first;
  while (last > first && is_unicode_white_space((*decoded)[last - 1].value)) --last;
  if (first == last) return reject(text_problem::empty, "text must not be empty");

  for (std::size_t i = first; i < last; ++i) {
    const char32_t value = (*decoded)[i].value;
    if (is_control_character(value)) {
      return reject(text_problem::control_character,
                    "text must not contain control characters (found " + code_point_name(value) + ")");
    }
  }

  const std::size_t characters = last - first;
  if (characters > max_text_characters) {
    return reject(text_problem::too_long, "text is too long: " + std::to_string(characters) +
                                              " characters, the maximum is " +
                                              std::to_string(max_text_characters));
  }

  const std::size_t begin_byte = (*decoded)[first].offset;
  const std::size_t end_byte = (*decoded)[last - 1].offset + (*decoded)[last - 1].length;
  text_check check;
  check.text = std::string(raw.substr(begin_byte, end_byte - begin_byte));
  return check;
}

std::optional<std::int64_t> parse_todo_id(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }

  std::int64_t id = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, id);
  if (ec != std::errc{} || stop != end) return std::nullopt;
  if (id < 1) return std::nullopt;
  return id;
}

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> fields;

  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;

    const std::size_t equals = pair.find('=');
    auto key = decode_form_component(pair.substr(0, equals));
    auto value = decode_form_component(equals == std::string_view::npos ? std::string_view{}
                                                                        : pair.substr(equals + 1));
    if (!key || !value) return std::nullopt;

    fields.try_emplace(std::move(*key), std::move(*value));
  }
  return fields;
}

}  // namespace todo::domain
