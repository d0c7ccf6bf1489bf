#include "todo/json_body.hpp"

#include "todo/content_type.hpp"
#include "todo/validation.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include <unordered_set>

namespace todo::domain {

namespace {

namespace beast_http = http::beast_http;

json_object_body reject_body(beast_http::status status, std::string error) {
  json_object_body rejected;
  rejected.status = status;
  rejected.error = std::move(error);
  return rejected;
}

template <typename T>
body_value<T> reject_value(std::string error) {
  body_value<T> rejected;
  rejected.error = std::move(error);
  return rejected;
}

// Checks a "text" value that is present in the body.
body_value<std::string> check_text_value(const boost::json::value& value) {
  if (!value.is_string()) return reject_value<std::string>("\"text\" must be a string");

  auto check = check_todo_text(value.get_string());
  if (!check.ok()) return reject_value<std::string>(std::move(check.error));
  return {std::move(check.text), {}};
}

}  // namespace

json_object_body parse_json_object(std::string_view content_type, std::string_view body) {
  if (!is_json_content_type(content_type)) {
    return reject_body(beast_http::status::unsupported_media_type,
                       "expected Content-Type application/json (UTF-8)");
  }

  boost::json::parse_options options;
  options.max_depth = max_json_depth;
  boost::system::error_code ec;
  auto parsed = boost::json::parse(body, ec, {}, options);
  if (ec == boost::json::error::too_deep) {
    return reject_body(beast_http::status::bad_request,
                       "invalid JSON: nested deeper than " + std::to_string(max_json_depth) + " levels");
  }
  if (ec) return reject_body(beast_http::status::bad_request, "invalid JSON: " + ec.message());
  if (!parsed.is_object()) return reject_body(beast_http::status::bad_request, "expected a JSON object");

  json_object_body accepted;
  accepted.object = std::move(parsed.as_object());
  return accepted;
}

body_value<std::string> read_todo_text(const boost::json::object& body) {
  const auto* text = body.if_contains("text");
  if (text == nullptr) return reject_value<std::string>("missing field \"text\"");
  return check_text_value(*text);
}

body_value<std::vector<std::int64_t>> read_reorder_ids(const boost::json::object& body) {
  using ids = std::vector<std::int64_t>;

  const auto* order = body.if_contains("order");
  if (order == nullptr) return reject_value<ids>("missing field \"order\": expected {\"order\": [id, ...]}");
  if (!order->is_array()) return reject_value<ids>("\"order\" must be an array of todo ids");

  const auto& entries = order->get_array();
  body_value<ids> accepted;
  accepted.value.reserve(entries.size());
  std::unordered_set<std::int64_t> seen;
  seen.reserve(entries.size());

  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto id = todo_id_from_json(entries[i]);
    if (!id) {
      return reject_value<ids>("order[" + std::to_string(i) +
                               "] is not a valid todo id: expected an integer from 1 to 9223372036854775807");
    }
    if (!seen.insert(*id).second) {
      return reject_value<ids>("order lists todo id " + std::to_string(*id) + " more than once");
    }
    accepted.value.push_back(*id);
  }
  return accepted;
}

body_value<todo_patch> read_todo_patch(const boost::json::object& body) {
  todo_patch patch;

  if (const auto* text = body.if_contains("text")) {
    auto checked = check_text_value(*text);
    if (!checked.ok()) return reject_value<todo_patch>(std::move(checked.error));
    patch.text = std::move(checked.value);
  }

  if (const auto* done = body.if_contains("done")) {
    if (!done->is_bool()) return reject_value<todo_patch>("\"done\" must be true or false");
    patch.done = done->get_bool();
  }

  if (!patch.text && !patch.done) {
    return reject_value<todo_patch>("expected at least one of the fields \"text\" and \"done\"");
  }
  return {std::move(patch), {}};
}

std::optional<std::int64_t> todo_id_from_json(const boost::json::value& value) noexcept {
  if (!value.is_int64()) return std::nullopt;

  const std::int64_t id = value.get_int64();
  if (id < 1) return std::nullopt;
  return id;
}

}  // namespace todo::domain
