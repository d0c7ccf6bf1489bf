#pragma once

#include "http/types.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace todo::domain {

/// Deepest nesting of arrays and objects accepted in a request body. Our
/// bodies need two levels, so deeper input is rejected before it costs memory.
inline constexpr std::size_t max_json_depth = 8;

/// A value read from a request body, or the message saying why it was rejected.
template <typename T>
struct body_value {
  T value{};
  std::string error;  // message for the client, empty when valid
  bool ok() const noexcept { return error.empty(); }
};

/// A request body parsed as a JSON object. On failure `status` is 415 for a
/// wrong Content-Type and 400 for malformed JSON or a value that is not an object.
struct json_object_body {
  boost::json::object object;
  http::beast_http::status status = http::beast_http::status::ok;
  std::string error;
  bool ok() const noexcept { return error.empty(); }
};

/// Checks the Content-Type and parses `body` as strict JSON (no comments,
/// no trailing commas, valid UTF-8, at most max_json_depth levels).
json_object_body parse_json_object(std::string_view content_type, std::string_view body);

/// Reads the required string field "text" and checks it with check_todo_text.
body_value<std::string> read_todo_text(const boost::json::object& body);

/// Reads "order" of a reorder request: an array of distinct todo ids.
body_value<std::vector<std::int64_t>> read_reorder_ids(const boost::json::object& body);

/// The fields of a PATCH request. At least one of them is set.
struct todo_patch {
  std::optional<std::string> text;  // already checked and trimmed
  std::optional<bool> done;
};

/// Reads the optional "text" (string) and "done" (bool) fields of a PATCH
/// request, and rejects a body that has neither.
body_value<todo_patch> read_todo_patch(const boost::json::object& body);

/// Returns the todo id held by a JSON number: an integer from 1 to
/// 9223372036854775807. Reals such as 1.0 or 1e3 are rejected.
std::optional<std::int64_t> todo_id_from_json(const boost::json::value& value) noexcept;

}  // namespace todo::domain
