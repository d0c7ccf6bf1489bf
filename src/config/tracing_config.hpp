#pragma once

#include "config/env.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace todo::config {

/// Tracing settings: the Python version's TRACING_ENABLED switch and the
/// standard OpenTelemetry SDK variables. The sampler and the endpoint URL are
/// kept as text here and checked by the tracing setup at start, which names
/// the variable when one is invalid.
struct tracing_config {
  bool enabled = false;                          // TRACING_ENABLED, unless OTEL_SDK_DISABLED is true
  std::string service_name;                      // OTEL_SERVICE_NAME, default the program's name
  std::vector<std::pair<std::string, std::string>> resource_attributes;  // OTEL_RESOURCE_ATTRIBUTES
  std::string traces_endpoint;                   // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
                                                 // OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces
  std::vector<std::pair<std::string, std::string>> headers;  // OTEL_EXPORTER_OTLP_HEADERS
  std::chrono::milliseconds timeout{10000};      // OTEL_EXPORTER_OTLP_TIMEOUT, one export request
  std::string protocol = "http/json";            // OTEL_EXPORTER_OTLP_PROTOCOL
  std::string sampler = "parentbased_always_on";  // OTEL_TRACES_SAMPLER
  std::string sampler_arg;                       // OTEL_TRACES_SAMPLER_ARG
  std::chrono::milliseconds schedule_delay{5000};  // OTEL_BSP_SCHEDULE_DELAY
  std::size_t max_queue_size = 2048;             // OTEL_BSP_MAX_QUEUE_SIZE
  std::size_t max_export_batch_size = 512;       // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BSP_EXPORT_TIMEOUT, one batch with retries
};

/// Reads the tracing variables. `default_service_name` is used when neither
/// OTEL_SERVICE_NAME nor a service.name resource attribute is set. Throws
/// config_error naming the first invalid variable.
tracing_config load_tracing_config(const env& environment, std::string_view default_service_name);

/// Parses OTEL_RESOURCE_ATTRIBUTES: comma-separated key=value pairs whose
/// values are percent-decoded. A repeated key keeps its last value. Throws
/// config_error on a member without '=', an empty key or an invalid percent escape.
std::vector<std::pair<std::string, std::string>> parse_resource_attributes(std::string_view text);

/// Parses OTEL_EXPORTER_OTLP_HEADERS in the same format. Throws config_error
/// also for a key that is not an HTTP header name and for a value with a
/// line break, which would split the request.
std::vector<std::pair<std::string, std::string>> parse_otlp_headers(std::string_view text);

}  // namespace todo::config
