#pragma once

#include "db/pool.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"
#include "obs/metrics.hpp"
#include "queue/client.hpp"
#include "queue/job_stream.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace todo::domain {

struct route_dependencies {
  std::shared_ptr<db::pool> database;
  std::shared_ptr<const http::static_files> static_files;
  std::shared_ptr<queue::client> redis;     // null disables the export routes (503)
  std::shared_ptr<queue::job_stream> jobs;
  std::shared_ptr<obs::registry> metrics;  // null: no job counters
  std::string environment;                 // APP_ENV, a label of the job counters
  // Set during the SHUTDOWN_DELAY_S after SIGTERM. Null means never draining.
  std::shared_ptr<const std::atomic<bool>> draining;
  // DB_SHARED_READ_LIMIT: list queries at once before requests share one
  // (todo_store::list_shared); 0 gives each request its own.
  std::size_t shared_list_reads = 0;
};

/// Registers every route of the web service with its name (the names are the
/// endpoint labels the Python version used: index, add_task, delete_task,
/// toggle_task, edit_task, reorder_tasks, health_check, static, …).
/// Every handler maps a transient db::error to 503 with Retry-After and a
/// query_failed db::error to 500, each with one log line.
void register_routes(http::router& routes, const route_dependencies& dependencies);

}  // namespace todo::domain
