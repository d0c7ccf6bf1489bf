#pragma once

#include "config/env.hpp"
#include "config/web_config.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace todo::config {

/// Settings of the todo-worker process, read from the environment.
struct worker_config {
  std::string app_env = "production";              // APP_ENV
  std::string log_level = "INFO";                  // LOG_LEVEL
  std::string database_url;                        // DATABASE_URL, normalized for libpq
  broker_setting broker;                           // CELERY_BROKER_URL or REDIS_URL
  std::string worker_id;                           // WORKER_ID, default <hostname>-<pid>
  unsigned concurrency = 2;                        // WORKER_CONCURRENCY, jobs run at once
  std::uint16_t metrics_port = 9100;               // METRICS_PORT, serves /metrics and /healthz
  std::string bind_address = "0.0.0.0";            // BIND_ADDRESS of the metrics port
  unsigned db_pool_size = 4;                       // DB_POOL_SIZE
  std::chrono::milliseconds db_timeout{30000};     // DB_TIMEOUT_MS, per query; exports run long queries
  std::chrono::milliseconds redis_timeout{2000};   // REDIS_TIMEOUT_MS
  std::chrono::seconds visibility_timeout{60};     // JOB_VISIBILITY_TIMEOUT_S, before another worker takes over
  unsigned max_attempts = 3;                       // JOB_MAX_ATTEMPTS, runs before a job is FAILURE
  std::chrono::milliseconds retry_base_delay{1000};  // JOB_RETRY_BASE_MS, doubled per attempt
  std::chrono::hours export_retention{24};         // EXPORT_RETENTION_H, finished exports are deleted after
  std::chrono::seconds republish_after{300};       // JOB_REPUBLISH_AFTER_S, PENDING jobs published again after
  unsigned export_batch_rows = 5000;               // EXPORT_BATCH_ROWS, rows fetched per round trip
  std::chrono::seconds shutdown_timeout{8};        // SHUTDOWN_TIMEOUT_S, to finish the running job
  tracing_config tracing;                          // TRACING_ENABLED and the OTEL_* variables
};

/// Reads and validates every variable. Throws config_error naming the first
/// invalid variable and what it accepts.
worker_config load_worker_config(const env& environment);

}  // namespace todo::config
