#pragma once

#include "config/cidr.hpp"
#include "config/env.hpp"
#include "config/tracing_config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace todo::config {

/// The Redis URL and the variable it came from, so a parse error can name it.
struct broker_setting {
  std::string url = "redis://localhost:6379/0";
  std::string variable = "REDIS_URL";
};

/// Reads CELERY_BROKER_URL (kept for existing .env files), else REDIS_URL,
/// else the default redis://localhost:6379/0. The URL is parsed by the queue layer.
broker_setting load_broker_setting(const env& environment);

/// Settings of the todo-web process, read from the environment.
struct web_config {
  std::string app_env = "production";          // APP_ENV
  std::string log_level = "INFO";              // LOG_LEVEL: DEBUG, INFO, WARNING, ERROR
  std::uint16_t port = 5000;                   // PORT
  std::string bind_address = "0.0.0.0";        // BIND_ADDRESS
  std::string database_url;                    // DATABASE_URL, normalized for libpq
  unsigned web_threads = 1;                    // WEB_THREADS, default: number of cores
  unsigned db_pool_size = 10;                  // DB_POOL_SIZE, connections
  std::chrono::milliseconds db_timeout{5000};  // DB_TIMEOUT_MS, per query and per connect
  unsigned db_shared_read_limit = 2;            // DB_SHARED_READ_LIMIT, list queries at once; 0: one per request
  std::vector<cidr> trusted_proxies;           // TRUSTED_PROXIES, default loopback
  std::chrono::seconds shutdown_timeout{8};    // SHUTDOWN_TIMEOUT_S, below Docker's 10 s
  std::chrono::seconds shutdown_delay{0};      // SHUTDOWN_DELAY_S, health checks fail before the drain
  std::string static_dir = "static";           // STATIC_DIR
  std::size_t max_body_bytes = 64 * 1024;      // MAX_BODY_BYTES
  std::size_t max_connections = 10000;         // MAX_CONNECTIONS, open client connections
  broker_setting broker;                       // CELERY_BROKER_URL or REDIS_URL
  std::chrono::milliseconds redis_timeout{2000};  // REDIS_TIMEOUT_MS, per command and per connect
  tracing_config tracing;                      // TRACING_ENABLED and the OTEL_* variables
  bool metrics_enabled = true;                 // METRICS_ENABLED: false stops request and pool metrics
};

/// Reads and validates every variable. Throws config_error naming the first
/// invalid variable and what it accepts.
web_config load_web_config(const env& environment);

}  // namespace todo::config
