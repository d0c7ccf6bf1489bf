#include "queue/reply.hpp"

#include "queue/error.hpp"

#include <array>

namespace todo::queue {

namespace {

[[noreturn]] void wrong_type(const reply& found, std::string_view command, std::string_view expected) {
  if (found.is_error()) throw error_from_reply(found, command);
  throw error(errc::protocol_error, std::string(command) + ": expected " + std::string(expected) +
                                        " from Redis, got " + std::string(to_string(found.type)));
}

}  // namespace

std::string_view to_string(reply_type type) noexcept {
  switch (type) {
    case reply_type::status: return "status";
    case reply_type::error: return "error";
    case reply_type::integer: return "integer";
    case reply_type::bulk_string: return "bulk string";
    case reply_type::nil: return "nil";
    case reply_type::array: return "array";
  }
  return "unknown";
}

const std::string& reply::as_string(std::string_view command) const {
  if (type != reply_type::bulk_string && type != reply_type::status) wrong_type(*this, command, "a string");
  return text;
}

std::int64_t reply::as_integer(std::string_view command) const {
  if (type != reply_type::integer) wrong_type(*this, command, "an integer");
  return integer;
}

const std::vector<reply>& reply::as_array(std::string_view command) const {
  if (type != reply_type::array) wrong_type(*this, command, "an array");
  return elements;
}

void reply::throw_if_error(std::string_view command) const {
  if (is_error()) throw error_from_reply(*this, command);
}

error error_from_reply(const reply& failed, std::string_view command) {
  // The first word of an error reply is its code, by Redis convention.
  constexpr std::array<std::string_view, 5> transient_codes{"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN",
                                                            "READONLY"};
  const std::string_view code = std::string_view(failed.text).substr(0, failed.text.find(' '));
  errc kind = errc::server_error;
  for (std::string_view transient : transient_codes) {
    if (code == transient) kind = errc::unavailable;
  }
  return error(kind, std::string(command) + " failed: " + failed.text);
}

}  // namespace todo::queue
