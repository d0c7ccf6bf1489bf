#include "todo/utf8.hpp"

namespace todo::domain {

namespace {

bool is_continuation(unsigned char byte) noexcept { return (byte & 0xC0) == 0x80; }

// Decodes the sequence that starts at `offset`, or returns nullopt when it is
// not the shortest valid form of a scalar value.
std::optional<code_point> decode_one(std::string_view text, std::size_t offset) noexcept {
  const auto lead = static_cast<unsigned char>(text[offset]);
  if (lead < 0x80) return code_point{lead, offset, 1};

  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
    minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
    minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
    minimum = 0x10000;
  } else {
    return std::nullopt;
  }

  if (text.size() - offset < length) return std::nullopt;

  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[offset + i]);
    if (!is_continuation(byte)) return std::nullopt;
    value = (value << 6) | (byte & 0x3F);
  }

  if (value < minimum) return std::nullopt;
  if (value >= 0xD800 && value <= 0xDFFF) return std::nullopt;
  if (value > 0x10FFFF) return std::nullopt;
  return code_point{value, offset, length};
}

}  // namespace

std::optional<std::vector<code_point>> decode_utf8(std::string_view text) {
  std::vector<code_point> decoded;
  decoded.reserve(text.size());

  std::size_t offset = 0;
  while (offset < text.size()) {
    auto next = decode_one(text, offset);
    if (!next) return std::nullopt;
    decoded.push_back(*next);
    offset += next->length;
  }
  return decoded;
}

bool is_unicode_white_space(char32_t value) noexcept {
  if (value >= 0x09 && value <= 0x0D) return true;
  if (value >= 0x2000 && value <= 0x200A) return true;
  switch (value) {
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return false;
  }
}

bool is_control_character(char32_t value) noexcept {
  return value <= 0x1F || (value >= 0x7F && value <= 0x9F);
}

}  // namespace todo::domain
