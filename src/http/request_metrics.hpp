#pragma once

#include "obs/metrics.hpp"
#include "obs/tracer.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace todo::http {

/// The request metrics of one server: http_request_duration_seconds and
/// http_requests_in_flight, with the names and labels the Python version's
/// dashboards query. No label value comes from the client as sent: the
/// endpoint is the route's name (or "not_found", "method_not_allowed",
/// "bad_request"), and a method outside the standard ones is "OTHER", so
/// scanning random paths and methods adds no series.
class request_metrics {
 public:
  request_metrics(obs::registry& registry, std::string environment);

  void request_started() noexcept;
  void request_finished_in_flight() noexcept;
  /// Observes the duration, with the span's trace id as the exemplar when the span is sampled.
  void request_finished(std::string_view method, std::string_view endpoint, unsigned status,
                        std::chrono::steady_clock::duration elapsed, const obs::active_span& span = {}) noexcept;

 private:
  obs::histogram_family& duration_;
  obs::gauge& in_flight_;
  std::string environment_;
};

/// Counts a request as in flight from construction until finish() or the
/// destructor, whichever comes first.
class in_flight_request {
 public:
  explicit in_flight_request(request_metrics* metrics) noexcept : metrics_(metrics) {
    if (metrics_ != nullptr) metrics_->request_started();
  }
  ~in_flight_request() { finish(); }
  in_flight_request(const in_flight_request&) = delete;
  in_flight_request& operator=(const in_flight_request&) = delete;

  /// Ends the count once the response is ready, before it is written, so a
  /// client that has its response never finds its request still in flight.
  /// Later calls, and the destructor, do nothing.
  void finish() noexcept;

 private:
  request_metrics* metrics_;
};

/// Returns the method as a label value: one of the standard methods, or "OTHER".
std::string_view method_label(std::string_view method) noexcept;

}  // namespace todo::http
