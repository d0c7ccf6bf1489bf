#include "http/request_metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace todo::http {
namespace {

// The value of http_requests_in_flight in the text exposition of `registry`.
std::string in_flight_value(const obs::registry& registry) {
  const std::string text = registry.render(obs::exposition_format::text);
  const std::string series = "http_requests_in_flight{environment=\"test\"} ";
  const auto start = text.find(series);
  if (start == std::string::npos) return "missing";
  const auto end = text.find('\n', start);
  return text.substr(start + series.size(), end - start - series.size());
}

TEST(InFlightRequest, CountsWhileAlive) {
  obs::registry registry;
  request_metrics metrics(registry, "test");
  {
    in_flight_request request(&metrics);
    EXPECT_EQ(in_flight_value(registry), "1");
  }
  EXPECT_EQ(in_flight_value(registry), "0");
}

TEST(InFlightRequest, FinishEndsCountOnce) {
  obs::registry registry;
  request_metrics metrics(registry, "test");
  in_flight_request other(&metrics);
  {
    in_flight_request request(&metrics);
    EXPECT_EQ(in_flight_value(registry), "2");
    request.finish();
    EXPECT_EQ(in_flight_value(registry), "1");
    request.finish();
    EXPECT_EQ(in_flight_value(registry), "1");
  }
  // The destructor of a finished request leaves the other one counted.
  EXPECT_EQ(in_flight_value(registry), "1");
}

TEST(InFlightRequest, WithoutMetricsDoesNothing) {
  in_flight_request request(nullptr);
  request.finish();
}

}  // namespace
}  // namespace todo::http
