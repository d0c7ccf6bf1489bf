#include "config/web_config.hpp"

#include "config/database_url.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <thread>

namespace todo::config {

namespace {

constexpr std::string_view default_database_url = "postgresql://todo:todo@localhost:5432/todo";
constexpr std::string_view default_trusted_proxies = "127.0.0.0/8,::1/128";

std::string parse_log_level(const env& environment) {
  std::string level = environment.get_string("LOG_LEVEL", "INFO");
  std::transform(level.begin(), level.end(), level.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (level == "WARN") level = "WARNING";
  constexpr std::array<std::string_view, 5> accepted{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
  if (std::find(accepted.begin(), accepted.end(), level) == accepted.end()) {
    throw config_error("LOG_LEVEL", "invalid value '" + level +
                                        "', expected DEBUG, INFO, WARNING, ERROR or CRITICAL");
  }
  return level;
}

unsigned default_thread_count() {
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

broker_setting load_broker_setting(const env& environment) {
  broker_setting broker;
  if (auto celery = environment.get("CELERY_BROKER_URL")) {
    broker.url = *celery;
    broker.variable = "CELERY_BROKER_URL";
  } else if (auto redis = environment.get("REDIS_URL")) {
    broker.url = *redis;
  }
  return broker;
}

web_config load_web_config(const env& environment) {
  web_config config;
  config.app_env = environment.get_string("APP_ENV", "production");
  config.log_level = parse_log_level(environment);
  config.port = static_cast<std::uint16_t>(environment.get_int("PORT", 5000, 1, 65535));
  config.bind_address = environment.get_string("BIND_ADDRESS", "0.0.0.0");
  config.database_url =
      normalize_database_url(environment.get_string("DATABASE_URL", default_database_url));
  config.web_threads =
      static_cast<unsigned>(environment.get_int("WEB_THREADS", default_thread_count(), 1, 256));
  config.db_pool_size = static_cast<unsigned>(environment.get_int("DB_POOL_SIZE", 10, 1, 1000));
  config.db_timeout = std::chrono::milliseconds(environment.get_int("DB_TIMEOUT_MS", 5000, 50, 600000));
  config.db_shared_read_limit = static_cast<unsigned>(environment.get_int("DB_SHARED_READ_LIMIT", 2, 0, 1000));
  config.shutdown_timeout = std::chrono::seconds(environment.get_int("SHUTDOWN_TIMEOUT_S", 8, 0, 3600));
  config.shutdown_delay = std::chrono::seconds(environment.get_int("SHUTDOWN_DELAY_S", 0, 0, 300));
  config.static_dir = environment.get_string("STATIC_DIR", "static");
  config.max_body_bytes = static_cast<std::size_t>(
      environment.get_int("MAX_BODY_BYTES", 64 * 1024, 1024, 64 * 1024 * 1024));

  config.max_connections =
      static_cast<std::size_t>(environment.get_int("MAX_CONNECTIONS", 10000, 16, 1000000));
  config.broker = load_broker_setting(environment);
  config.redis_timeout = std::chrono::milliseconds(environment.get_int("REDIS_TIMEOUT_MS", 2000, 50, 60000));

  try {
    config.trusted_proxies =
        parse_cidr_list(environment.get_string("TRUSTED_PROXIES", default_trusted_proxies));
  } catch (const std::invalid_argument& e) {
    throw config_error("TRUSTED_PROXIES",
                       std::string(e.what()) + "; expected a comma-separated list of CIDRs such as "
                                               "127.0.0.0/8,10.0.0.0/8");
  }

  boost::system::error_code ec;
  boost::asio::ip::make_address(config.bind_address, ec);
  if (ec) {
    throw config_error("BIND_ADDRESS",
                       "invalid address '" + config.bind_address + "', expected an IP address such as 0.0.0.0");
  }
  config.metrics_enabled = environment.get_bool("METRICS_ENABLED", true);
  config.tracing = load_tracing_config(environment, "todo-web");
  return config;
}

}  // namespace todo::config
