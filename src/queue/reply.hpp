#pragma once

#include "queue/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace todo::queue {

/// The RESP2 reply types that Redis sends.
enum class reply_type { status, error, integer, bulk_string, nil, array };

std::string_view to_string(reply_type type) noexcept;

/// One Redis reply, possibly a nested array. Strings keep the exact bytes,
/// including '\0' and "\r\n".
struct reply {
  reply_type type = reply_type::nil;
  std::string text;             // status, error or bulk string
  std::int64_t integer = 0;     // integer
  std::vector<reply> elements;  // array

  static reply make_status(std::string value) { return {reply_type::status, std::move(value), 0, {}}; }
  static reply make_error(std::string message) { return {reply_type::error, std::move(message), 0, {}}; }
  static reply make_integer(std::int64_t value) { return {reply_type::integer, {}, value, {}}; }
  static reply make_bulk(std::string value) { return {reply_type::bulk_string, std::move(value), 0, {}}; }
  static reply make_nil() { return {}; }
  static reply make_array(std::vector<reply> items) { return {reply_type::array, {}, 0, std::move(items)}; }

  bool is_error() const noexcept { return type == reply_type::error; }
  bool is_nil() const noexcept { return type == reply_type::nil; }

  /// The accessors below throw queue::error when the type does not match:
  /// server_error with the text of an error reply, protocol_error for any
  /// other type. `command` names the command in the message.
  const std::string& as_string(std::string_view command) const;  // bulk string or status
  std::int64_t as_integer(std::string_view command) const;
  const std::vector<reply>& as_array(std::string_view command) const;

  /// Throws queue::error for an error reply; see error_from_reply().
  void throw_if_error(std::string_view command) const;

  bool operator==(const reply&) const = default;
};

/// Builds the queue::error for an error reply to `command`. Replies that
/// mean Redis cannot serve for now become errc::unavailable: LOADING while it
/// loads its data, BUSY while a script runs too long, and MASTERDOWN, TRYAGAIN
/// and READONLY around a failover. All others become errc::server_error.
error error_from_reply(const reply& failed, std::string_view command);

}  // namespace todo::queue
