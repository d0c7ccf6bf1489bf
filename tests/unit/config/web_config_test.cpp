#include "config/web_config.hpp"

#include "config/database_url.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

namespace todo::config {
namespace {

web_config load(std::map<std::string, std::string> values) {
  return load_web_config(env::from_map(std::move(values)));
}

// Returns the variable named by the config_error that loading `values` throws.
std::string rejected_variable(std::map<std::string, std::string> values) {
  try {
    load(std::move(values));
  } catch (const config_error& e) {
    return e.variable();
  }
  return "(accepted)";
}

TEST(WebConfig, DefaultsMatchDocumentedValues) {
  const auto config = load({});
  EXPECT_EQ(config.app_env, "production");
  EXPECT_EQ(config.log_level, "INFO");
  EXPECT_EQ(config.port, 5000);
  EXPECT_EQ(config.db_pool_size, 10u);
  EXPECT_EQ(config.db_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(config.shutdown_timeout, std::chrono::seconds(8));
  EXPECT_EQ(config.shutdown_delay, std::chrono::seconds(0));
  EXPECT_GE(config.web_threads, 1u);
  ASSERT_EQ(config.trusted_proxies.size(), 2u);
}

TEST(WebConfig, ReadsEveryVariable) {
  const auto config = load({{"APP_ENV", "staging"},
                            {"LOG_LEVEL", "debug"},
                            {"PORT", "8081"},
                            {"WEB_THREADS", "3"},
                            {"DB_POOL_SIZE", "4"},
                            {"DB_TIMEOUT_MS", "250"},
                            {"SHUTDOWN_TIMEOUT_S", "2"},
                            {"SHUTDOWN_DELAY_S", "3"},
                            {"TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1"},
                            {"DATABASE_URL", "postgres://u:p@db:5432/todo"}});
  EXPECT_EQ(config.app_env, "staging");
  EXPECT_EQ(config.log_level, "DEBUG");
  EXPECT_EQ(config.port, 8081);
  EXPECT_EQ(config.web_threads, 3u);
  EXPECT_EQ(config.db_pool_size, 4u);
  EXPECT_EQ(config.db_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(config.shutdown_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config.shutdown_delay, std::chrono::seconds(3));
  EXPECT_EQ(config.database_url, "postgresql://u:p@db:5432/todo");
  ASSERT_EQ(config.trusted_proxies.size(), 2u);
  EXPECT_EQ(config.trusted_proxies[1].prefix_length, 32u);
}

TEST(WebConfig, InvalidValuesNameTheVariable) {
  EXPECT_EQ(rejected_variable({{"PORT", "eighty"}}), "PORT");
  EXPECT_EQ(rejected_variable({{"PORT", "0"}}), "PORT");
  EXPECT_EQ(rejected_variable({{"PORT", "65536"}}), "PORT");
  EXPECT_EQ(rejected_variable({{"PORT", "80x"}}), "PORT");
  EXPECT_EQ(rejected_variable({{"LOG_LEVEL", "LOUD"}}), "LOG_LEVEL");
  EXPECT_EQ(rejected_variable({{"WEB_THREADS", "0"}}), "WEB_THREADS");
  EXPECT_EQ(rejected_variable({{"DB_POOL_SIZE", "-1"}}), "DB_POOL_SIZE");
  EXPECT_EQ(rejected_variable({{"DB_TIMEOUT_MS", "1e3"}}), "DB_TIMEOUT_MS");
  EXPECT_EQ(rejected_variable({{"SHUTDOWN_TIMEOUT_S", "99999999999999999999"}}), "SHUTDOWN_TIMEOUT_S");
  EXPECT_EQ(rejected_variable({{"SHUTDOWN_DELAY_S", "301"}}), "SHUTDOWN_DELAY_S");
  EXPECT_EQ(rejected_variable({{"TRUSTED_PROXIES", "10.0.0.0/33"}}), "TRUSTED_PROXIES");
  EXPECT_EQ(rejected_variable({{"TRUSTED_PROXIES", "proxy.local"}}), "TRUSTED_PROXIES");
  EXPECT_EQ(rejected_variable({{"DATABASE_URL", "mysql://u:p@db/todo"}}), "DATABASE_URL");
  EXPECT_EQ(rejected_variable({{"BIND_ADDRESS", "localhost"}}), "BIND_ADDRESS");
}

TEST(WebConfig, ErrorMessageSaysWhatIsAccepted) {
  try {
    load({{"PORT", "abc"}});
    FAIL() << "PORT=abc was accepted";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), "PORT: invalid value 'abc', expected an integer from 1 to 65535");
  }
}

TEST(DatabaseUrl, AcceptsThreeSchemes) {
  EXPECT_EQ(normalize_database_url("postgresql://a@h/d"), "postgresql://a@h/d");
  EXPECT_EQ(normalize_database_url("postgres://a@h/d"), "postgresql://a@h/d");
  EXPECT_EQ(normalize_database_url("postgresql+psycopg2://a:b@h:5432/d"), "postgresql://a:b@h:5432/d");
}

TEST(DatabaseUrl, RejectionHidesPassword) {
  try {
    normalize_database_url("mysql://user:secret@h/d");
    FAIL() << "mysql URL was accepted";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
}

TEST(DatabaseUrl, RedactsPasswords) {
  EXPECT_EQ(redact_database_url("postgresql://todo:s3cret@db:5432/todo"), "postgresql://todo:***@db:5432/todo");
  EXPECT_EQ(redact_database_url("postgresql://todo:p@ss@db/todo"), "postgresql://todo:***@db/todo");
  EXPECT_EQ(redact_database_url("postgresql://todo@db/todo"), "postgresql://todo@db/todo");
  EXPECT_EQ(redact_database_url("postgresql://db/todo?user=a&password=hunter2&sslmode=require"),
            "postgresql://db/todo?user=a&password=***&sslmode=require");
  EXPECT_EQ(redact_database_url("postgresql://db/todo?password=x"), "postgresql://db/todo?password=***");
}

TEST(Cidr, MatchesIpv4AndIpv6Networks) {
  const auto loopback = parse_cidr("127.0.0.0/8");
  EXPECT_TRUE(loopback.contains(boost::asio::ip::make_address("127.1.2.3")));
  EXPECT_FALSE(loopback.contains(boost::asio::ip::make_address("128.0.0.1")));
  EXPECT_TRUE(loopback.contains(boost::asio::ip::make_address("::ffff:127.0.0.1")));

  const auto odd_prefix = parse_cidr("10.0.0.0/9");
  EXPECT_TRUE(odd_prefix.contains(boost::asio::ip::make_address("10.127.255.255")));
  EXPECT_FALSE(odd_prefix.contains(boost::asio::ip::make_address("10.128.0.0")));

  const auto v6 = parse_cidr("fd00::/8");
  EXPECT_TRUE(v6.contains(boost::asio::ip::make_address("fd12::1")));
  EXPECT_FALSE(v6.contains(boost::asio::ip::make_address("fe80::1")));
  EXPECT_FALSE(v6.contains(boost::asio::ip::make_address("10.0.0.1")));

  EXPECT_TRUE(parse_cidr("0.0.0.0/0").contains(boost::asio::ip::make_address("8.8.8.8")));
}

TEST(Cidr, RejectsMalformedNetworks) {
  EXPECT_THROW(parse_cidr("10.0.0.0/"), std::invalid_argument);
  EXPECT_THROW(parse_cidr("10.0.0.0/-1"), std::invalid_argument);
  EXPECT_THROW(parse_cidr("::1/129"), std::invalid_argument);
  EXPECT_THROW(parse_cidr("300.0.0.1"), std::invalid_argument);
  EXPECT_THROW(parse_cidr(""), std::invalid_argument);
  EXPECT_TRUE(parse_cidr_list(" , ").empty());
}

TEST(WebConfig, MetricsCanBeTurnedOff) {
  EXPECT_TRUE(load({}).metrics_enabled);
  EXPECT_FALSE(load({{"METRICS_ENABLED", "false"}}).metrics_enabled);
  EXPECT_EQ(rejected_variable({{"METRICS_ENABLED", "sometimes"}}), "METRICS_ENABLED");
}

}  // namespace
}  // namespace todo::config
