#include "obs/json_escape.hpp"

#include "obs/utf8.hpp"

#include <cstdint>

namespace todo::obs {

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  constexpr char hex[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < text.size()) {
    // Copies a run of printable ASCII without quote or backslash in one append.
    std::size_t end = i;
    while (end < text.size()) {
      const auto next = static_cast<unsigned char>(text[end]);
      if (next < 0x20 || next >= 0x7F || next == '"' || next == '\\') break;
      ++end;
    }
    if (end > i) {
      out.append(text.data() + i, end - i);
      i = end;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out.append("\\\""); ++i; continue;
      case '\\': out.append("\\\\"); ++i; continue;
      case '\n': out.append("\\n"); ++i; continue;
      case '\r': out.append("\\r"); ++i; continue;
      case '\t': out.append("\\t"); ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
      ++i;
      continue;
    }
    const std::size_t length = utf8_character_length(text.substr(i));
    if (length == 0) {
      out.append(replacement_character);
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
}

}  // namespace todo::obs
