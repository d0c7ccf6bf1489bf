#include "todo/handlers.hpp"

#include "http/responses.hpp"
#include "obs/log.hpp"
#include "todo/content_type.hpp"
#include "todo/handler_support.hpp"
#include "todo/html.hpp"
#include "todo/json_body.hpp"
#include "todo/validation.hpp"

#include <boost/json/array.hpp>
#include <boost/url/parse.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace todo::domain {

namespace asio = boost::asio;
namespace beast_http = http::beast_http;
using beast_http::status;

namespace {

// Returns the decoded value of query parameter `name` in `target`, if present.
std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  auto params = url->params();
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

// Maximum unknown ids listed in a reorder error. The rest are only counted.
constexpr std::size_t max_listed_unknown_ids = 20;

std::string_view content_type_of(const http::request& req) { return req[beast_http::field::content_type]; }

// The new text of an edit, from a JSON body or from the no-script form.
struct edit_input {
  std::string text;
  bool from_form = false;
  status failure_status = status::bad_request;
  std::string error;  // empty when `text` is valid
};

edit_input read_edit_input(const http::request& req) {
  edit_input input;
  const auto content_type = content_type_of(req);

  if (is_form_content_type(content_type)) {
    input.from_form = true;
    auto form = parse_form(req.body());
    if (!form) {
      input.error = "invalid form body: '%' must be followed by two hex digits";
      return input;
    }
    auto field = form->find("text");
    if (field == form->end()) {
      input.error = "missing form field \"text\"";
      return input;
    }
    auto check = check_todo_text(field->second);
    input.text = std::move(check.text);
    input.error = std::move(check.error);
    return input;
  }

  if (!is_json_content_type(content_type)) {
    input.failure_status = status::unsupported_media_type;
    input.error = "expected Content-Type application/json or application/x-www-form-urlencoded";
    return input;
  }

  auto body = parse_json_object(content_type, req.body());
  if (!body.ok()) {
    input.failure_status = body.status;
    input.error = std::move(body.error);
    return input;
  }
  auto text = read_todo_text(body.object);
  input.text = std::move(text.value);
  input.error = std::move(text.error);
  return input;
}

std::string unknown_ids_message(const std::vector<std::int64_t>& unknown) {
  std::string message = "unknown todo ids: ";
  const std::size_t listed = std::min(unknown.size(), max_listed_unknown_ids);
  for (std::size_t i = 0; i < listed; ++i) {
    if (i > 0) message += ", ";
    message += std::to_string(unknown[i]);
  }
  if (unknown.size() > listed) message += " and " + std::to_string(unknown.size() - listed) + " more";
  message += "; nothing was changed";
  return message;
}

http::response not_ready_response(const http::request& req) {
  const boost::json::value body = {{"status", "unavailable"}, {"checks", {{"database", "unavailable"}}}};
  auto res = http::json_response(req, status::service_unavailable, body);
  res.set(beast_http::field::retry_after, "1");
  return res;
}

bool is_draining(const handler_services& services) {
  return services.draining && services.draining->load(std::memory_order_relaxed);
}

// A load balancer that reads this stops sending new requests, while the
// ones it sends until then are still served.
http::response draining_response(const http::request& req) {
  const boost::json::value body = {{"status", "draining"}, {"timestamp", obs::utc_timestamp_now()}};
  auto res = http::json_response(req, status::service_unavailable, body);
  res.set(beast_http::field::cache_control, "no-store");
  return res;
}

}  // namespace

asio::awaitable<http::response> show_index(handler_services& services, const http::request& req,
                                           http::request_context& context) {
  const auto todos = co_await services.store.list_shared(context.trace());
  mark_shared_read(context, todos.shared);

  // ?export=<id> comes from the no-script export form's redirect.
  std::optional<export_job> job;
  const auto export_id = query_parameter(req.target(), "export");
  if (export_id && is_uuid(*export_id)) job = co_await services.exports.find(*export_id, context.trace());

  auto res = http::html_response(req, status::ok, render_index_page_around(todos.value->task_section_html(), {}, job ? &*job : nullptr));
  res.set(beast_http::field::cache_control, "no-store");
  co_return res;
}

asio::awaitable<http::response> add_task(handler_services& services, const http::request& req,
                                         http::request_context& context) {
  if (!is_form_content_type(content_type_of(req))) {
    co_return client_error(req, context, status::unsupported_media_type,
                           "expected Content-Type application/x-www-form-urlencoded");
  }

  auto form = parse_form(req.body());
  if (!form) {
    co_return client_error(req, context, status::bad_request,
                           "invalid form body: '%' must be followed by two hex digits");
  }

  // A missing field is treated like an empty one: nothing is added, a
  // warning is logged, and the client gets the usual 303.
  const auto field = form->find("task");
  const auto check = check_todo_text(field == form->end() ? std::string_view{} : field->second);
  if (check.problem == text_problem::empty) {
    obs::log_warning(handlers_logger, context.log(), "empty task not added",
                     {{"field_present", field != form->end()}});
    co_return http::redirect(req, "/");
  }
  if (!check.ok()) co_return client_error(req, context, status::bad_request, check.error);

  const auto item = co_await services.store.add(check.text, context.trace());
  obs::log_info(handlers_logger, context.log(), "todo added", {{"todo_id", item.id}});
  co_return http::redirect(req, "/");
}

asio::awaitable<http::response> delete_task(handler_services& services, const http::request& req,
                                            http::request_context& context) {
  const auto id = path_todo_id(context);
  if (!id) co_return client_error(req, context, status::bad_request, invalid_id_message(context));

  if (co_await services.store.remove(*id, context.trace())) {
    obs::log_info(handlers_logger, context.log(), "todo deleted", {{"todo_id", *id}});
  } else {
    obs::log_warning(handlers_logger, context.log(), "todo to delete not found", {{"todo_id", *id}});
  }
  co_return http::redirect(req, "/");
}

asio::awaitable<http::response> toggle_task(handler_services& services, const http::request& req,
                                            http::request_context& context) {
  const auto id = path_todo_id(context);
  if (!id) co_return client_error(req, context, status::bad_request, invalid_id_message(context));

  const auto item = co_await services.store.toggle(*id, context.trace());
  if (!item) co_return client_error(req, context, status::not_found, "not found");

  obs::log_info(handlers_logger, context.log(), "todo toggled", {{"todo_id", item->id}, {"done", item->done}});
  if (http::wants_html(req)) co_return http::redirect(req, "/");

  const boost::json::value body = {{"id", item->id}, {"done", item->done}};
  co_return http::json_response(req, status::ok, body);
}

asio::awaitable<http::response> edit_task(handler_services& services, const http::request& req,
                                          http::request_context& context) {
  const auto id = path_todo_id(context);
  if (!id) co_return client_error(req, context, status::bad_request, invalid_id_message(context));

  const auto input = read_edit_input(req);
  if (!input.error.empty()) co_return client_error(req, context, input.failure_status, input.error);

  const auto item = co_await services.store.update(*id, input.text, std::nullopt, context.trace());
  if (!item) co_return client_error(req, context, status::not_found, "not found");

  obs::log_info(handlers_logger, context.log(), "todo edited", {{"todo_id", item->id}});
  if (input.from_form) co_return http::redirect(req, "/");

  const boost::json::value body = {{"id", item->id}, {"text", item->text}};
  co_return http::json_response(req, status::ok, body);
}

asio::awaitable<http::response> reorder_tasks(handler_services& services, const http::request& req,
                                              http::request_context& context) {
  const auto body = parse_json_object(content_type_of(req), req.body());
  if (!body.ok()) co_return http::json_error(req, context, body.status, body.error);

  const auto order = read_reorder_ids(body.object);
  if (!order.ok()) co_return http::json_error(req, context, status::bad_request, order.error);

  const auto unknown = co_await services.store.reorder(order.value, context.trace());
  if (!unknown.empty()) {
    co_return http::json_error(req, context, status::bad_request, unknown_ids_message(unknown));
  }

  obs::log_info(handlers_logger, context.log(), "todos reordered", {{"todo_count", order.value.size()}});
  const boost::json::value response_body = {{"status", "ok"}};
  co_return http::json_response(req, status::ok, response_body);
}

asio::awaitable<http::response> check_health(handler_services& services, const http::request& req,
                                             http::request_context&) {
  if (is_draining(services)) co_return draining_response(req);

  const boost::json::value body = {{"status", "healthy"}, {"timestamp", obs::utc_timestamp_now()}};
  auto res = http::json_response(req, status::ok, body);
  res.set(beast_http::field::cache_control, "no-store");
  co_return res;
}

asio::awaitable<http::response> check_readiness(handler_services& services, const http::request& req,
                                                http::request_context& context) {
  if (is_draining(services)) co_return draining_response(req);

  // With requests already queued for a connection, a ping would only queue
  // behind them and time out. PostgreSQL answered the pool's last connect,
  // so the replica is ready, only busy: taking every replica out of rotation
  // because of one long lock would turn slowness into an outage.
  const auto pool = services.database->stats();
  if (pool.available && pool.waiting > 0) {
    const boost::json::value body = {{"status", "ready"}, {"checks", {{"database", "busy"}}}};
    auto res = http::json_response(req, status::ok, body);
    res.set(beast_http::field::cache_control, "no-store");
    co_return res;
  }

  bool ready = false;
  try {
    ready = co_await services.database->ping();
  } catch (const db::error& failure) {
    obs::log_warning(handlers_logger, context.log(), "readiness check failed", {{"error", failure.what()}});
    co_return not_ready_response(req);
  }

  if (!ready) {
    obs::log_warning(handlers_logger, context.log(), "readiness check failed",
                     {{"error", "PostgreSQL did not answer SELECT 1"}});
    co_return not_ready_response(req);
  }

  const boost::json::value body = {{"status", "ready"}, {"checks", {{"database", "ok"}}}};
  auto res = http::json_response(req, status::ok, body);
  res.set(beast_http::field::cache_control, "no-store");
  co_return res;
}

asio::awaitable<http::response> serve_static(handler_services& services, const http::request& req,
                                             http::request_context& context) {
  // The router puts the decoded rest of the path after "/static/" last.
  if (!services.static_files || context.path_params.empty()) {
    co_return http::json_error(req, context, status::not_found, "not found");
  }
  co_return services.static_files->serve(req, context.path_params.back());
}

}  // namespace todo::domain
