#include "config/worker_config.hpp"

#include "config/database_url.hpp"

#include <boost/asio/ip/address.hpp>

#include <cctype>
#include <cstdio>

#include <unistd.h>

namespace todo::config {

namespace {

std::string default_worker_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "worker");
  std::string id = host;
  for (char& c : id) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!allowed) c = '-';
  }
  return id + "-" + std::to_string(::getpid());
}

bool is_valid_worker_id(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id) {
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

}  // namespace

worker_config load_worker_config(const env& environment) {
  // The web service's parser validates the shared variables the same way.
  const web_config shared = load_web_config(environment);

  worker_config config;
  config.app_env = shared.app_env;
  config.log_level = shared.log_level;
  config.database_url = shared.database_url;
  config.broker = shared.broker;
  config.redis_timeout = shared.redis_timeout;
  config.bind_address = shared.bind_address;
  config.shutdown_timeout = shared.shutdown_timeout;

  config.worker_id = environment.get_string("WORKER_ID", default_worker_id());
  if (!is_valid_worker_id(config.worker_id)) {
    throw config_error("WORKER_ID", "invalid value '" + config.worker_id +
                                        "', expected 1 to 100 letters, digits, '.', '_' or '-'");
  }
  config.concurrency = static_cast<unsigned>(environment.get_int("WORKER_CONCURRENCY", 2, 1, 64));
  config.metrics_port = static_cast<std::uint16_t>(environment.get_int("METRICS_PORT", 9100, 1, 65535));
  config.db_pool_size =
      static_cast<unsigned>(environment.get_int("DB_POOL_SIZE", config.concurrency + 2, 1, 1000));
  config.db_timeout = std::chrono::milliseconds(environment.get_int("DB_TIMEOUT_MS", 30000, 50, 3600000));
  config.visibility_timeout = std::chrono::seconds(environment.get_int("JOB_VISIBILITY_TIMEOUT_S", 60, 1, 86400));
  config.max_attempts = static_cast<unsigned>(environment.get_int("JOB_MAX_ATTEMPTS", 3, 1, 100));
  config.retry_base_delay = std::chrono::milliseconds(environment.get_int("JOB_RETRY_BASE_MS", 1000, 0, 3600000));
  config.export_retention = std::chrono::hours(environment.get_int("EXPORT_RETENTION_H", 24, 1, 24 * 365));
  config.republish_after = std::chrono::seconds(environment.get_int("JOB_REPUBLISH_AFTER_S", 300, 1, 86400));
  config.export_batch_rows = static_cast<unsigned>(environment.get_int("EXPORT_BATCH_ROWS", 5000, 1, 1000000));
  config.tracing = load_tracing_config(environment, "todo-worker");
  return config;
}

}  // namespace todo::config
