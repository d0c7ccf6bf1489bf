#pragma once

// The batch span processor and OTLP/HTTP JSON exporter. Ended spans go into a
// bounded queue, and a thread of its own sends them in batches, so a slow or dead
// collector never delays a request. When the queue is full, spans are dropped
// and counted.

#include "obs/metrics.hpp"
#include "obs/otlp_http.hpp"
#include "obs/otlp_json.hpp"
#include "obs/tracer.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

namespace todo::obs {

/// Settings with the defaults of the OTEL_BSP_* and OTEL_EXPORTER_OTLP_* variables.
struct batch_exporter_options {
  otlp_endpoint endpoint;
  std::chrono::milliseconds request_timeout{10000};   ///< OTEL_EXPORTER_OTLP_TIMEOUT: one POST.
  std::chrono::milliseconds schedule_delay{5000};     ///< OTEL_BSP_SCHEDULE_DELAY: between exports.
  std::size_t max_queue_size = 2048;                  ///< OTEL_BSP_MAX_QUEUE_SIZE
  std::size_t max_export_batch_size = 512;            ///< OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  std::chrono::milliseconds export_timeout{30000};    ///< OTEL_BSP_EXPORT_TIMEOUT: one batch, retries included.
  resource_attributes resource;
  std::string scope_version;                          ///< Version of the service, for the instrumentation scope.
};

/// Counters of what happened to spans, shared with the metrics registry.
struct batch_exporter_stats {
  std::uint64_t exported = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t dropped_export_failed = 0;
  std::uint64_t dropped_shutdown = 0;
};

class batch_exporter final : public span_processor {
 public:
  /// Registers trace_spans_exported_total and trace_spans_dropped_total{reason}
  /// in `metrics` when it is not null.
  batch_exporter(batch_exporter_options options, registry* metrics);
  ~batch_exporter() override;

  /// Starts the export thread.
  void start();

  /// Queues a sampled span. Never blocks on the network, and drops and counts the
  /// span when the queue is full.
  void on_end(span&& finished) noexcept override;

  /// Stops taking spans, exports what is queued within `timeout` (retries
  /// included), then stops the thread. Spans left over are counted as dropped.
  /// Safe to call twice.
  void shutdown(std::chrono::milliseconds timeout) noexcept;

  batch_exporter_stats stats() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace todo::obs
