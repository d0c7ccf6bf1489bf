#pragma once

// The tracer and span exporter that todo-web and todo-worker both start with.

#include "config/env.hpp"
#include "config/tracing_config.hpp"
#include "obs/batch_exporter.hpp"
#include "obs/sampler.hpp"
#include "obs/tracer.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace todo::app {

/// Tracing settings checked and turned into the parts' options.
struct tracing_plan {
  bool enabled = false;
  obs::sampler sampling;
  obs::batch_exporter_options exporter;
};

/// Checks what load_tracing_config left as text: the sampler and the endpoint. Throws config_error naming the variable. Checked even
/// when tracing is off, so that a typo shows before someone turns it on.
inline tracing_plan plan_tracing(const config::tracing_config& config) {
  tracing_plan plan;
  plan.enabled = config.enabled;
  try {
    // The specification's values are lower case; other casings are accepted.
    std::string name = config.sampler;
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    plan.sampling = obs::parse_sampler(name, config.sampler_arg);
  } catch (const std::invalid_argument& e) {
    const bool arg_problem = std::string_view(e.what()).find("SAMPLER_ARG") != std::string_view::npos;
    throw config::config_error(arg_problem ? "OTEL_TRACES_SAMPLER_ARG" : "OTEL_TRACES_SAMPLER", e.what());
  }
  try {
    plan.exporter.endpoint = obs::parse_otlp_endpoint(config.traces_endpoint);
  } catch (const std::invalid_argument& e) {
    throw config::config_error("OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", e.what());
  }
  plan.exporter.endpoint.headers = config.headers;
  plan.exporter.request_timeout = config.timeout;
  plan.exporter.schedule_delay = config.schedule_delay;
  plan.exporter.max_queue_size = config.max_queue_size;
  plan.exporter.max_export_batch_size = config.max_export_batch_size;
  plan.exporter.export_timeout = config.export_timeout;
  plan.exporter.scope_version = TODO_VERSION;
  plan.exporter.resource.service_name = config.service_name;
  for (const auto& [key, value] : config.resource_attributes) {
    if (key != "service.name") plan.exporter.resource.attributes.push_back(obs::attribute{key, value});
  }
  // Built-in attributes never repeat a key the user set: a resource with a
  // repeated key is invalid OTLP, and collectors reject the whole export.
  auto& attributes = plan.exporter.resource.attributes;
  const auto add_unless_set = [&attributes](std::string key, std::string value) {
    for (const auto& existing : attributes) {
      if (existing.key == key) return;
    }
    attributes.push_back(obs::attribute{std::move(key), std::move(value)});
  };
  add_unless_set("service.version", TODO_VERSION);
  add_unless_set("telemetry.sdk.name", "todo");
  add_unless_set("telemetry.sdk.language", "cpp");
  add_unless_set("telemetry.sdk.version", TODO_VERSION);
  return plan;
}

/// The running tracer and exporter. Both are empty when tracing is off.
class tracing_runtime {
 public:
  tracing_runtime() = default;

  /// Starts the exporter thread and the tracer when the plan enables tracing.
  tracing_runtime(const tracing_plan& plan, obs::registry& metrics) {
    if (!plan.enabled) return;
    exporter_ = std::make_shared<obs::batch_exporter>(plan.exporter, &metrics);
    exporter_->start();
    tracer_ = std::make_unique<obs::tracer>(plan.sampling, exporter_);
  }

  /// Null when tracing is off.
  obs::tracer* tracer() const noexcept { return tracer_.get(); }

  /// Sends the spans still queued, waiting at most `timeout`.
  void shutdown(std::chrono::milliseconds timeout) noexcept {
    if (exporter_) exporter_->shutdown(timeout);
  }

 private:
  std::shared_ptr<obs::batch_exporter> exporter_;
  std::unique_ptr<obs::tracer> tracer_;
};

/// Returns how long a stopping process waits for its last spans to be sent.
inline std::chrono::milliseconds trace_flush_timeout(const config::tracing_config& config) {
  return std::min<std::chrono::milliseconds>(config.export_timeout, std::chrono::seconds(5));
}

}  // namespace todo::app
