#include "todo/routes.hpp"

#include "todo/handler_support.hpp"
#include "todo/handlers.hpp"

namespace todo::domain {

void register_routes(http::router& routes, const route_dependencies& dependencies) {
  using boost::beast::http::verb;

  auto services = std::make_shared<handler_services>(
      handler_services{todo_store(dependencies.database, dependencies.shared_list_reads), dependencies.database, dependencies.static_files,
                       export_store(dependencies.database), dependencies.redis, dependencies.jobs, nullptr,
                       dependencies.draining});
  if (dependencies.metrics) {
    services->jobs_enqueued = &dependencies.metrics
                                   ->add_counter("background_jobs_total",
                                                 "Background job events by job type and status.",
                                                 {"job_type", "status", "environment"})
                                   .with({export_job_type, "enqueued", dependencies.environment});
  }

  // Each route's std::function keeps a copy of `services`, so the store
  // outlives every request the router dispatches.
  auto add = [&routes, &services](verb method, std::string route_template, std::string name,
                                  route_function function) {
    routes.add(method, std::move(route_template), std::move(name),
               [services, function](const http::request& req, http::request_context& context) {
                 return run_with_db_errors(function(*services, req, context), req, context);
               });
  };

  add(verb::get, "/", "index", show_index);
  add(verb::post, "/add", "add_task", add_task);
  add(verb::post, "/delete/{id}", "delete_task", delete_task);
  add(verb::post, "/toggle/{id}", "toggle_task", toggle_task);
  add(verb::post, "/edit/{id}", "edit_task", edit_task);
  add(verb::post, "/reorder", "reorder_tasks", reorder_tasks);
  add(verb::get, "/healthz", "health_check", check_health);
  add(verb::get, "/readyz", "readiness_check", check_readiness);

  add(verb::post, "/export", "export_todos", export_todos);
  add(verb::get, "/tasks/{id}", "get_task_status", get_task_status);
  add(verb::get, "/download/{id}", "download_csv", download_csv);
  add(verb::get, "/healthz/background", "healthz_background", check_background);

  add(verb::get, "/api/todos", "api_list_todos", api_list_todos);
  add(verb::post, "/api/todos", "api_create_todo", api_create_todo);
  add(verb::get, "/api/todos/{id}", "api_get_todo", api_get_todo);
  add(verb::patch, "/api/todos/{id}", "api_update_todo", api_update_todo);
  add(verb::delete_, "/api/todos/{id}", "api_delete_todo", api_delete_todo);

  add(verb::get, "/static/*", "static", serve_static);
}

}  // namespace todo::domain
