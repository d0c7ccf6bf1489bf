#include "http/request_metrics.hpp"

#include "obs/log.hpp"
#include "obs/traced_observe.hpp"

#include <array>

namespace todo::http {

namespace {

// Route names, methods and status codes give a few hundred series at most;
// the limit only guards against a programming error.
constexpr std::size_t max_duration_series = 2000;

}  // namespace

std::string_view method_label(std::string_view method) noexcept {
  constexpr std::array<std::string_view, 8> standard{"GET",    "HEAD",  "POST",    "PUT",
                                                     "PATCH",  "DELETE", "OPTIONS", "CONNECT"};
  for (auto known : standard) {
    if (method == known) return known;
  }
  return "OTHER";
}

request_metrics::request_metrics(obs::registry& registry, std::string environment)
    : duration_(registry.add_histogram("http_request_duration_seconds",
                                       "Time from a complete request header to a ready response, by route name.",
                                       {"method", "endpoint", "status", "environment"},
                                       obs::request_duration_buckets_seconds, max_duration_series)),
      in_flight_(registry.add_gauge("http_requests_in_flight", "Requests being handled right now.", {"environment"})
                     .with({environment})),
      environment_(std::move(environment)) {}

void request_metrics::request_started() noexcept { in_flight_.inc(); }

void request_metrics::request_finished_in_flight() noexcept { in_flight_.dec(); }

void request_metrics::request_finished(std::string_view method, std::string_view endpoint, unsigned status,
                                       std::chrono::steady_clock::duration elapsed,
                                       const obs::active_span& span) noexcept {
  try {
    const std::string status_text = std::to_string(status);
    auto& series = duration_.with({method_label(method), endpoint.empty() ? "bad_request" : endpoint,
                                   status_text, environment_});
    const double seconds = std::chrono::duration<double>(elapsed).count();
    obs::observe_in_span(series, seconds, span);
  } catch (const std::exception& e) {
    obs::log_error("todo.http", {}, "recording request metrics failed", {{"error", e.what()}});
  }
}

void in_flight_request::finish() noexcept {
  if (metrics_ != nullptr) metrics_->request_finished_in_flight();
  metrics_ = nullptr;
}

}  // namespace todo::http
