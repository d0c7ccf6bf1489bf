#include "http/request_id.hpp"

#include <array>
#include <cstdint>
#include <random>

namespace todo::http {

namespace {

constexpr std::size_t max_request_id_length = 64;

bool is_safe_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// One engine per thread, so no lock is taken per request. The engine contains
// no request state, so a coroutine that moves between threads loses nothing.
std::mt19937_64& thread_engine() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return engine;
}

}  // namespace

bool is_safe_request_id(std::string_view candidate) noexcept {
  if (candidate.empty() || candidate.size() > max_request_id_length) return false;

  for (const char c : candidate) {
    if (!is_safe_character(c)) return false;
  }
  return true;
}

std::string choose_request_id(std::string_view incoming) {
  if (is_safe_request_id(incoming)) return std::string(incoming);
  return random_uuid();
}

std::string random_uuid() {
  std::array<std::uint8_t, 16> bytes{};
  auto& engine = thread_engine();
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t word = engine();
    for (std::size_t j = 0; j < 8; ++j) {
      bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
    }
  }

  // The high nibble of byte 6 is the UUID version (4, random), and the two
  // high bits of byte 8 are the variant (binary 10).
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);

  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(hex_digits[bytes[i] >> 4]);
    text.push_back(hex_digits[bytes[i] & 0x0F]);
  }
  return text;
}

}  // namespace todo::http
