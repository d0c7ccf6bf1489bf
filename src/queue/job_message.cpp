#include "queue/job_message.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace todo::queue {

namespace {

constexpr std::size_t max_job_id_length = 128;
constexpr std::size_t max_job_type_length = 64;
constexpr std::size_t max_request_id_length = 128;

bool is_ascii_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool is_token(std::string_view value, std::size_t max_length, std::string_view extra_chars) {
  if (value.empty() || value.size() > max_length) return false;
  return std::all_of(value.begin(), value.end(), [&](char c) {
    return is_ascii_alnum(c) || extra_chars.find(c) != std::string_view::npos;
  });
}

bool is_valid_job_id(std::string_view value) { return is_token(value, max_job_id_length, "._:-"); }
bool is_valid_job_type(std::string_view value) { return is_token(value, max_job_type_length, "._-"); }
bool is_valid_request_id(std::string_view value) { return is_token(value, max_request_id_length, "._-"); }

bool is_hex_run(std::string_view value, std::size_t offset, std::size_t length) {
  if (offset + length > value.size()) return false;
  const auto run = value.substr(offset, length);
  return std::all_of(run.begin(), run.end(), is_lower_hex);
}

bool is_all_zero(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) { return c == '0'; });
}

std::optional<int> parse_attempt(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < 1 || value > max_job_attempt) return std::nullopt;
  return value;
}

}  // namespace

bool is_valid_traceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 characters.
  constexpr std::size_t version_00_length = 55;
  if (value.size() < version_00_length) return false;
  if (!is_hex_run(value, 0, 2) || value.substr(0, 2) == "ff") return false;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  if (!is_hex_run(value, 3, 32) || !is_hex_run(value, 36, 16) || !is_hex_run(value, 53, 2)) return false;
  if (is_all_zero(value.substr(3, 32)) || is_all_zero(value.substr(36, 16))) return false;

  // Version 00 has exactly these fields; later versions may append "-...".
  if (value.substr(0, 2) == "00") return value.size() == version_00_length;
  return value.size() == version_00_length || value[version_00_length] == '-';
}

stream_fields encode_job_message(const job_message& message) {
  if (!is_valid_job_id(message.job_id)) {
    throw std::invalid_argument("job_id must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'");
  }
  if (!is_valid_job_type(message.job_type)) {
    throw std::invalid_argument("job_type must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  if (message.attempt < 1 || message.attempt > max_job_attempt) {
    throw std::invalid_argument("attempt must be from 1 to " + std::to_string(max_job_attempt) + ", not " +
                                std::to_string(message.attempt));
  }
  if (!message.traceparent.empty() && !is_valid_traceparent(message.traceparent)) {
    throw std::invalid_argument("traceparent is not a valid W3C traceparent");
  }
  if (!message.request_id.empty() && !is_valid_request_id(message.request_id)) {
    throw std::invalid_argument("request_id must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
  }

  return {{"job_id", message.job_id},
          {"job_type", message.job_type},
          {"attempt", std::to_string(message.attempt)},
          {"traceparent", message.traceparent},
          {"request_id", message.request_id}};
}

job_decoding decode_job_message(const stream_fields& fields) {
  std::optional<std::string> job_id;
  std::optional<std::string> job_type;
  std::optional<std::string> attempt;
  std::optional<std::string> traceparent;
  std::optional<std::string> request_id;

  for (const auto& [name, value] : fields) {
    std::optional<std::string>* slot = nullptr;
    if (name == "job_id") slot = &job_id;
    if (name == "job_type") slot = &job_type;
    if (name == "attempt") slot = &attempt;
    if (name == "traceparent") slot = &traceparent;
    if (name == "request_id") slot = &request_id;
    if (slot == nullptr) continue;
    if (slot->has_value()) return {std::nullopt, "field " + name + " appears more than once"};
    *slot = value;
  }

  if (!job_id) return {std::nullopt, "field job_id is missing"};
  if (!is_valid_job_id(*job_id)) return {std::nullopt, "field job_id is invalid"};
  if (!job_type) return {std::nullopt, "field job_type is missing"};
  if (!is_valid_job_type(*job_type)) return {std::nullopt, "field job_type is invalid"};
  if (!attempt) return {std::nullopt, "field attempt is missing"};
  const auto attempt_number = parse_attempt(*attempt);
  if (!attempt_number) {
    return {std::nullopt, "field attempt must be a number from 1 to " + std::to_string(max_job_attempt)};
  }

  job_message message;
  message.job_id = std::move(*job_id);
  message.job_type = std::move(*job_type);
  message.attempt = *attempt_number;
  if (traceparent && is_valid_traceparent(*traceparent)) message.traceparent = std::move(*traceparent);
  if (request_id && is_valid_request_id(*request_id)) message.request_id = std::move(*request_id);
  return {std::move(message), {}};
}

}  // namespace todo::queue
