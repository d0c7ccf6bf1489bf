#pragma once

#include "db/error.hpp"
#include "http/types.hpp"
#include "todo/todo_item.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace todo::domain {

/// Logger name of every line the route handlers write.
inline constexpr std::string_view handlers_logger = "todo.handlers";

/// Awaits `handler` and maps a db::error it throws: a transient error becomes
/// 503 with Retry-After and one warning line, query_failed becomes a JSON 500
/// and one error line. Other exceptions pass through to the server.
boost::asio::awaitable<http::response> run_with_db_errors(boost::asio::awaitable<http::response> handler,
                                                          const http::request& req,
                                                          const http::request_context& context);

/// Builds the response and log line for a database failure (see run_with_db_errors).
http::response database_error_response(const http::request& req, const http::request_context& context,
                                       const db::error& failure);

/// Rejects a client mistake: an HTML error page for a browser that posted a
/// form (http::wants_html), {"error", "request_id"} JSON otherwise.
http::response client_error(const http::request& req, const http::request_context& context,
                            http::beast_http::status status, std::string_view message);

/// Parses the {id} path parameter, or returns nullopt when it is not a valid todo id.
std::optional<std::int64_t> path_todo_id(const http::request_context& context);

/// The 400 message for an invalid {id}. The rejected text is quoted only when
/// it is short printable ASCII, so hostile bytes never reach the response.
std::string invalid_id_message(const http::request_context& context);

/// The JSON form of a todo: id, text, done, position and created_at.
boost::json::object todo_to_json(const todo_item& item);

/// Marks the request's span when another request's list query produced its
/// result (todo_store::list_shared), because its trace then has no query span.
void mark_shared_read(http::request_context& context, bool shared);

/// 204 No Content with an empty body.
http::response no_content_response(const http::request& req);

}  // namespace todo::domain
