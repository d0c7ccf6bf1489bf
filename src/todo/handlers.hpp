#pragma once

#include "db/pool.hpp"
#include "http/static_files.hpp"
#include "http/types.hpp"
#include "obs/metrics.hpp"
#include "queue/client.hpp"
#include "queue/job_stream.hpp"
#include "todo/export_store.hpp"
#include "todo/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>

namespace todo::domain {

/// The objects every route handler uses. One instance is shared by all
/// routes and lives as long as the router that contains them.
struct handler_services {
  todo_store store;
  std::shared_ptr<db::pool> database;
  std::shared_ptr<const http::static_files> static_files;  // may be null, so /static/* returns 404
  export_store exports;
  std::shared_ptr<queue::client> redis;     // may be null: export routes then return 503
  std::shared_ptr<queue::job_stream> jobs;  // may be null, as redis
  obs::counter* jobs_enqueued = nullptr;    // background_jobs_total{status="enqueued"}; may be null
  std::shared_ptr<const std::atomic<bool>> draining;  // while set, /healthz and /readyz return 503; may be null
};

/// A route handler before db::error mapping (run_with_db_errors adds it).
using route_function = boost::asio::awaitable<http::response> (*)(handler_services&, const http::request&,
                                                                  http::request_context&);

// Page, form and health routes (handlers.cpp). Each is named after its route.
boost::asio::awaitable<http::response> show_index(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> add_task(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> delete_task(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> toggle_task(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> edit_task(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> reorder_tasks(handler_services&, const http::request&,
                                                     http::request_context&);
boost::asio::awaitable<http::response> check_health(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> check_readiness(handler_services&, const http::request&,
                                                       http::request_context&);
boost::asio::awaitable<http::response> serve_static(handler_services&, const http::request&, http::request_context&);

// Export job routes (export_handlers.cpp).
boost::asio::awaitable<http::response> export_todos(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> get_task_status(handler_services&, const http::request&,
                                                       http::request_context&);
boost::asio::awaitable<http::response> download_csv(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> check_background(handler_services&, const http::request&,
                                                        http::request_context&);

// JSON API routes (api_handlers.cpp).
boost::asio::awaitable<http::response> api_list_todos(handler_services&, const http::request&,
                                                      http::request_context&);
boost::asio::awaitable<http::response> api_create_todo(handler_services&, const http::request&,
                                                       http::request_context&);
boost::asio::awaitable<http::response> api_get_todo(handler_services&, const http::request&, http::request_context&);
boost::asio::awaitable<http::response> api_update_todo(handler_services&, const http::request&,
                                                       http::request_context&);
boost::asio::awaitable<http::response> api_delete_todo(handler_services&, const http::request&,
                                                       http::request_context&);

}  // namespace todo::domain
