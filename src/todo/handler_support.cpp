#include "todo/handler_support.hpp"

#include "http/responses.hpp"
#include "todo/html.hpp"
#include "todo/validation.hpp"

namespace todo::domain {

namespace {

constexpr std::size_t max_quoted_id_bytes = 40;

bool is_quotable(std::string_view text) {
  if (text.empty() || text.size() > max_quoted_id_bytes) return false;
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

boost::asio::awaitable<http::response> run_with_db_errors(boost::asio::awaitable<http::response> handler,
                                                          const http::request& req,
                                                          const http::request_context& context) {
  try {
    co_return co_await std::move(handler);
  } catch (const db::error& failure) {
    co_return database_error_response(req, context, failure);
  }
}

http::response database_error_response(const http::request& req, const http::request_context& context,
                                       const db::error& failure) {
  if (failure.is_transient()) {
    obs::log_warning(handlers_logger, context.log(), "database unavailable, request failed with 503",
                     {{"route", context.route_name}, {"error", failure.what()}});
    return http::unavailable_response(req, context, "service unavailable, try again");
  }

  obs::log_error(handlers_logger, context.log(), "database query failed",
                 {{"route", context.route_name}, {"error", failure.what()}, {"sqlstate", failure.sqlstate()}});
  return http::json_error(req, context, http::beast_http::status::internal_server_error, "internal server error");
}

http::response client_error(const http::request& req, const http::request_context& context,
                            http::beast_http::status status, std::string_view message) {
  if (!http::wants_html(req)) return http::json_error(req, context, status, message);

  const int code = static_cast<int>(status);
  return http::html_response(req, status, render_error_page(code, message));
}

std::optional<std::int64_t> path_todo_id(const http::request_context& context) {
  if (context.path_params.empty()) return std::nullopt;
  return parse_todo_id(context.path_params.front());
}

std::string invalid_id_message(const http::request_context& context) {
  const std::string_view expected = "expected an integer from 1 to 9223372036854775807";
  const std::string_view text = context.path_params.empty() ? std::string_view{} : context.path_params.front();
  if (!is_quotable(text)) return "invalid id: " + std::string(expected);
  return "invalid id \"" + std::string(text) + "\": " + std::string(expected);
}

boost::json::object todo_to_json(const todo_item& item) {
  return boost::json::object{
      {"id", item.id},
      {"text", item.text},
      {"done", item.done},
      {"position", item.position},
      {"created_at", item.created_at},
  };
}

void mark_shared_read(http::request_context& context, bool shared) {
  if (shared) context.span.set_attribute("todo.list.shared_query", true);
}

http::response no_content_response(const http::request& req) {
  http::response res{http::beast_http::status::no_content, req.version()};
  res.keep_alive(req.keep_alive());
  return res;
}

}  // namespace todo::domain
