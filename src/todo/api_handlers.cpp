#include "todo/handlers.hpp"

#include "http/responses.hpp"
#include "todo/handler_support.hpp"
#include "todo/json_body.hpp"

#include <boost/json/array.hpp>

namespace todo::domain {

namespace asio = boost::asio;
namespace beast_http = http::beast_http;
using beast_http::status;

namespace {

std::string_view content_type_of(const http::request& req) { return req[beast_http::field::content_type]; }

}  // namespace

asio::awaitable<http::response> api_list_todos(handler_services& services, const http::request& req,
                                               http::request_context& context) {
  const auto todos = co_await services.store.list_shared(context.trace());
  mark_shared_read(context, todos.shared);
  co_return http::json_text_response(req, status::ok, std::string(todos.value->json_array()));
}

asio::awaitable<http::response> api_create_todo(handler_services& services, const http::request& req,
                                                http::request_context& context) {
  const auto body = parse_json_object(content_type_of(req), req.body());
  if (!body.ok()) co_return http::json_error(req, context, body.status, body.error);

  const auto text = read_todo_text(body.object);
  if (!text.ok()) co_return http::json_error(req, context, status::bad_request, text.error);

  const auto item = co_await services.store.add(text.value, context.trace());
  obs::log_info(handlers_logger, context.log(), "todo added", {{"todo_id", item.id}});

  auto res = http::json_response(req, status::created, todo_to_json(item));
  res.set(beast_http::field::location, "/api/todos/" + std::to_string(item.id));
  co_return res;
}

asio::awaitable<http::response> api_get_todo(handler_services& services, const http::request& req,
                                             http::request_context& context) {
  const auto id = path_todo_id(context);
  if (!id) co_return http::json_error(req, context, status::bad_request, invalid_id_message(context));

  const auto item = co_await services.store.find(*id, context.trace());
  if (!item) co_return http::json_error(req, context, status::not_found, "not found");
  co_return http::json_response(req, status::ok, todo_to_json(*item));
}

asio::awaitable<http::response> api_update_todo(handler_services& services, const http::request& req,
                                                http::request_context& context) {
  const auto id = path_todo_id(context);
  if (!id) co_return http::json_error(req, context, status::bad_request, invalid_id_message(context));

  const auto body = parse_json_object(content_type_of(req), req.body());
  if (!body.ok()) co_return http::json_error(req, context, body.status, body.error);

  const auto patch = read_todo_patch(body.object);
  if (!patch.ok()) co_return http::json_error(req, context, status::bad_request, patch.error);

  const auto item = co_await services.store.update(*id, patch.value.text, patch.value.done, context.trace());
  if (!item) co_return http::json_error(req, context, status::not_found, "not found");

  obs::log_info(handlers_logger, context.log(), "todo updated",
                {{"todo_id", item->id}, {"text_changed", patch.value.text.has_value()},
                 {"done_changed", patch.value.done.has_value()}});
  co_return http::json_response(req, status::ok, todo_to_json(*item));
}

asio::awaitable<http::response> api_delete_todo(handler_services& services, const http::request& req,
                                                http::request_context& context) {
  const auto id = path_todo_id(context);
  if (!id) co_return http::json_error(req, context, status::bad_request, invalid_id_message(context));

  if (!co_await services.store.remove(*id, context.trace())) {
    co_return http::json_error(req, context, status::not_found, "not found");
  }

  obs::log_info(handlers_logger, context.log(), "todo deleted", {{"todo_id", *id}});
  co_return no_content_response(req);
}

}  // namespace todo::domain
