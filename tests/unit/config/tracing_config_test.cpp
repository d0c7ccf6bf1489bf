#include "config/tracing_config.hpp"

#include <gtest/gtest.h>

namespace todo::config {
namespace {

tracing_config load(std::map<std::string, std::string> values) {
  return load_tracing_config(env::from_map(std::move(values)), "todo-web");
}

std::string rejected_variable(std::map<std::string, std::string> values) {
  try {
    load(std::move(values));
  } catch (const config_error& e) {
    return e.variable();
  }
  return "(accepted)";
}

TEST(TracingConfig, DefaultsFollowTheOpenTelemetrySpecification) {
  const auto config = load({});
  EXPECT_FALSE(config.enabled);
  EXPECT_EQ(config.service_name, "todo-web");
  EXPECT_EQ(config.traces_endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(config.protocol, "http/json");
  EXPECT_EQ(config.sampler, "parentbased_always_on");
  EXPECT_EQ(config.timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(config.schedule_delay, std::chrono::milliseconds(5000));
  EXPECT_EQ(config.max_queue_size, 2048u);
  EXPECT_EQ(config.max_export_batch_size, 512u);
  EXPECT_EQ(config.export_timeout, std::chrono::milliseconds(30000));
  EXPECT_TRUE(config.resource_attributes.empty());
}

TEST(TracingConfig, ReadsEveryVariable) {
  const auto config = load({{"TRACING_ENABLED", "true"},
                            {"OTEL_SERVICE_NAME", "todo-web-blue"},
                            {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,team=core%20web"},
                            {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318"},
                            {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret"},
                            {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                            {"OTEL_TRACES_SAMPLER", "traceidratio"},
                            {"OTEL_TRACES_SAMPLER_ARG", "0.25"},
                            {"OTEL_BSP_SCHEDULE_DELAY", "200"},
                            {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                            {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"},
                            {"OTEL_BSP_EXPORT_TIMEOUT", "4000"}});
  EXPECT_TRUE(config.enabled);
  EXPECT_EQ(config.service_name, "todo-web-blue");
  ASSERT_EQ(config.resource_attributes.size(), 2u);
  EXPECT_EQ(config.resource_attributes[1], (std::pair<std::string, std::string>{"team", "core web"}));
  EXPECT_EQ(config.traces_endpoint, "http://jaeger:4318/v1/traces");
  ASSERT_EQ(config.headers.size(), 1u);
  EXPECT_EQ(config.headers[0], (std::pair<std::string, std::string>{"api-key", "secret"}));
  EXPECT_EQ(config.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config.sampler, "traceidratio");
  EXPECT_EQ(config.sampler_arg, "0.25");
  EXPECT_EQ(config.schedule_delay, std::chrono::milliseconds(200));
  EXPECT_EQ(config.max_queue_size, 100u);
  EXPECT_EQ(config.max_export_batch_size, 50u);
  EXPECT_EQ(config.export_timeout, std::chrono::milliseconds(4000));
}

TEST(TracingConfig, TheSignalEndpointIsUsedAsGiven) {
  EXPECT_EQ(load({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}}).traces_endpoint,
            "http://collector:4318/v1/traces");
  EXPECT_EQ(load({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base"}}).traces_endpoint,
            "http://collector:4318/base/v1/traces");
  EXPECT_EQ(load({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"},
                  {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:9999/custom"}})
                .traces_endpoint,
            "http://collector:9999/custom");
}

TEST(TracingConfig, ServiceNameFallsBackToTheResourceAttribute) {
  EXPECT_EQ(load({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource"}}).service_name, "from-resource");
  EXPECT_EQ(load({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource"}, {"OTEL_SERVICE_NAME", "explicit"}})
                .service_name,
            "explicit");
}

TEST(TracingConfig, SdkDisabledWinsOverTracingEnabled) {
  EXPECT_FALSE(load({{"TRACING_ENABLED", "true"}, {"OTEL_SDK_DISABLED", "true"}}).enabled);
  EXPECT_TRUE(load({{"TRACING_ENABLED", "1"}, {"OTEL_SDK_DISABLED", "false"}}).enabled);
}

TEST(TracingConfig, InvalidValuesNameTheirVariable) {
  EXPECT_EQ(rejected_variable({{"TRACING_ENABLED", "maybe"}}), "TRACING_ENABLED");
  EXPECT_EQ(rejected_variable({{"OTEL_SDK_DISABLED", "sometimes"}}), "OTEL_SDK_DISABLED");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}), "OTEL_EXPORTER_OTLP_PROTOCOL");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}}), "OTEL_EXPORTER_OTLP_PROTOCOL");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_TIMEOUT", "-5"}}), "OTEL_EXPORTER_OTLP_TIMEOUT");
  EXPECT_EQ(rejected_variable({{"OTEL_BSP_SCHEDULE_DELAY", "soon"}}), "OTEL_BSP_SCHEDULE_DELAY");
  EXPECT_EQ(rejected_variable({{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}}), "OTEL_BSP_MAX_QUEUE_SIZE");
  EXPECT_EQ(rejected_variable({{"OTEL_BSP_MAX_QUEUE_SIZE", "10"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"}}),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
  EXPECT_EQ(rejected_variable({{"OTEL_BSP_EXPORT_TIMEOUT", "1e3"}}), "OTEL_BSP_EXPORT_TIMEOUT");
  EXPECT_EQ(rejected_variable({{"OTEL_RESOURCE_ATTRIBUTES", "novalue"}}), "OTEL_RESOURCE_ATTRIBUTES");
  EXPECT_EQ(rejected_variable({{"OTEL_RESOURCE_ATTRIBUTES", "key=%G1"}}), "OTEL_RESOURCE_ATTRIBUTES");
  EXPECT_EQ(rejected_variable({{"OTEL_RESOURCE_ATTRIBUTES", "=value"}}), "OTEL_RESOURCE_ATTRIBUTES");
}

TEST(TracingConfig, HeadersArePercentDecodedPairs) {
  const auto headers = parse_otlp_headers(" api-key = abc%2Cdef , x-tenant=team%201,,");
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"api-key", "abc,def"}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"x-tenant", "team 1"}));
  EXPECT_TRUE(parse_otlp_headers("").empty());
}

TEST(TracingConfig, MalformedHeadersAreRejected) {
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "bad key=1"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "key=%0d%0aInjected: 1"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "key=%zz"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "key=%4"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "Host=evil"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "content-length=5"}}), "OTEL_EXPORTER_OTLP_HEADERS");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_HEADERS", "key=a%7fb"}}), "OTEL_EXPORTER_OTLP_HEADERS");
}

TEST(TracingConfig, BaseEndpointMustNameAHost) {
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://"}}), "OTEL_EXPORTER_OTLP_ENDPOINT");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http:///x"}}), "OTEL_EXPORTER_OTLP_ENDPOINT");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}}), "OTEL_EXPORTER_OTLP_ENDPOINT");
  EXPECT_EQ(rejected_variable({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/?q=1"}}), "OTEL_EXPORTER_OTLP_ENDPOINT");
  EXPECT_EQ(load({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1]:4318"}}).traces_endpoint, "http://[::1]:4318/v1/traces");
}

}  // namespace
}  // namespace todo::config
