#include "config/tracing_config.hpp"

#include <algorithm>
#include <cctype>

namespace todo::config {

namespace {

constexpr std::string_view default_endpoint = "http://localhost:4318";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string decode_value(std::string_view text, std::string_view key, const std::string& variable) {
  std::string decoded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex_digit(text[i + 1]) < 0 || hex_digit(text[i + 2]) < 0) {
      throw config_error(variable, "the value of '" + std::string(key) + "' has an invalid percent escape");
    }
    decoded += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
    i += 2;
  }
  return decoded;
}

// The key=value,key=value format that both OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS use. A repeated key keeps its last value.
std::vector<std::pair<std::string, std::string>> parse_pairs(std::string_view text, const std::string& variable) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto member = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (member.empty()) continue;
    const auto equals = member.find('=');
    if (equals == std::string_view::npos || trim(member.substr(0, equals)).empty()) {
      throw config_error(variable,
                         "expected key=value pairs separated by commas, got '" + std::string(member.substr(0, 64)) + "'");
    }
    const auto key = trim(member.substr(0, equals));
    auto value = decode_value(trim(member.substr(equals + 1)), key, variable);
    const auto existing =
        std::find_if(pairs.begin(), pairs.end(), [&](const auto& pair) { return pair.first == key; });
    if (existing != pairs.end()) {
      existing->second = std::move(value);
    } else {
      pairs.emplace_back(std::string(key), std::move(value));
    }
  }
  return pairs;
}

// The OTLP/HTTP rule: the signal path is appended to the base endpoint.
std::string traces_url(std::string_view base) {
  std::string url(base);
  if (!url.ends_with('/')) url += '/';
  return url + "v1/traces";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_resource_attributes(std::string_view text) {
  return parse_pairs(text, "OTEL_RESOURCE_ATTRIBUTES");
}

std::vector<std::pair<std::string, std::string>> parse_otlp_headers(std::string_view text) {
  auto headers = parse_pairs(text, "OTEL_EXPORTER_OTLP_HEADERS");
  for (const auto& [key, value] : headers) {
    if (!std::all_of(key.begin(), key.end(), is_token_char)) {
      throw config_error("OTEL_EXPORTER_OTLP_HEADERS", "'" + key.substr(0, 64) + "' is not a valid header name");
    }
    std::string lower = key;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "host" || lower == "content-length" || lower == "content-type" || lower == "connection" ||
        lower == "transfer-encoding") {
      throw config_error("OTEL_EXPORTER_OTLP_HEADERS", "'" + key + "' is set by the exporter itself");
    }
    const bool has_control = std::any_of(value.begin(), value.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return (byte < 0x20 && c != '\t') || byte == 0x7f;
    });
    if (has_control) {
      throw config_error("OTEL_EXPORTER_OTLP_HEADERS", "the value of '" + key + "' contains a control character");
    }
  }
  return headers;
}

tracing_config load_tracing_config(const env& environment, std::string_view default_service_name) {
  tracing_config config;
  // Both are read, so that an invalid value of either is reported.
  const bool requested = environment.get_bool("TRACING_ENABLED", false);
  const bool sdk_disabled = environment.get_bool("OTEL_SDK_DISABLED", false);
  config.enabled = requested && !sdk_disabled;

  config.resource_attributes = parse_resource_attributes(environment.get_string("OTEL_RESOURCE_ATTRIBUTES", ""));
  std::string from_resource;
  for (const auto& [key, value] : config.resource_attributes) {
    if (key == "service.name") from_resource = value;
  }
  config.service_name = environment.get_string(
      "OTEL_SERVICE_NAME", from_resource.empty() ? default_service_name : std::string_view(from_resource));

  if (auto endpoint = environment.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    config.traces_endpoint = *endpoint;
  } else {
    const auto base = environment.get_string("OTEL_EXPORTER_OTLP_ENDPOINT", default_endpoint);
    // The path is appended to the base, so the base must name a host and
    // must not end in a query or fragment.
    const auto scheme_end = base.find("://");
    if (scheme_end == std::string::npos || scheme_end + 3 >= base.size() || base[scheme_end + 3] == '/' ||
        base.find_first_of("?#") != std::string::npos) {
      throw config_error("OTEL_EXPORTER_OTLP_ENDPOINT",
                         "invalid value '" + base + "', expected a base URL such as http://collector:4318");
    }
    config.traces_endpoint = traces_url(base);
  }
  config.headers = parse_otlp_headers(environment.get_string("OTEL_EXPORTER_OTLP_HEADERS", ""));
  config.timeout = std::chrono::milliseconds(environment.get_int("OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1, 600000));

  config.protocol = environment.get_string("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
  if (config.protocol != "http/json") {
    throw config_error("OTEL_EXPORTER_OTLP_PROTOCOL",
                       "'" + config.protocol + "' is not supported; this build exports http/json only");
  }

  config.sampler = environment.get_string("OTEL_TRACES_SAMPLER", "parentbased_always_on");
  config.sampler_arg = environment.get_string("OTEL_TRACES_SAMPLER_ARG", "");

  config.schedule_delay = std::chrono::milliseconds(environment.get_int("OTEL_BSP_SCHEDULE_DELAY", 5000, 1, 3600000));
  config.max_queue_size =
      static_cast<std::size_t>(environment.get_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1000000));
  config.max_export_batch_size =
      static_cast<std::size_t>(environment.get_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1000000));
  if (config.max_export_batch_size > config.max_queue_size) {
    throw config_error("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                       std::to_string(config.max_export_batch_size) + " is larger than OTEL_BSP_MAX_QUEUE_SIZE (" +
                           std::to_string(config.max_queue_size) + ")");
  }
  config.export_timeout = std::chrono::milliseconds(environment.get_int("OTEL_BSP_EXPORT_TIMEOUT", 30000, 1, 3600000));
  return config;
}

}  // namespace todo::config
