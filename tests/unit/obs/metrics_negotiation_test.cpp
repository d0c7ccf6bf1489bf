#include "obs/metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace todo::obs {
namespace {

struct negotiation_case {
  std::string accept;
  exposition_format expected;
};

constexpr auto text = exposition_format::text;
constexpr auto openmetrics = exposition_format::openmetrics;

TEST(MetricsNegotiation, AcceptHeaderTable) {
  const std::vector<negotiation_case> cases = {
      // The Accept header of Prometheus 2 scrapes, without and with protobuf first.
      {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
       "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
       openmetrics},
      {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
       "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,"
       "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
       openmetrics},
      {"application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", text},
      {"", text},
      {"*/*", text},
      {"text/plain", text},
      {"text/plain;version=0.0.4", text},
      {"application/openmetrics-text", openmetrics},
      {"application/openmetrics-text; version=1.0.0; charset=utf-8", openmetrics},
      {"application/openmetrics-text;version=\"1.0.0\"", openmetrics},
      {"APPLICATION/OpenMetrics-Text; Version=1.0.0", openmetrics},
      {"application/openmetrics-text;version=0.0.1", text},
      {"application/openmetrics-text;version=2.0.0", text},
      {"application/openmetrics-text, text/plain", openmetrics},
      {"text/plain, application/openmetrics-text", openmetrics},
      {"application/openmetrics-text;q=0.5, text/plain", text},
      {"application/openmetrics-text;q=0.5, text/plain;q=0.5", openmetrics},
      {"application/openmetrics-text;q=0.9, text/plain;q=0.95", text},
      {"text/plain;version=0.0.4;q=0.2, text/plain;q=1, application/openmetrics-text;q=0.5", openmetrics},
      {"text/plain;version=9.9.9, application/openmetrics-text;q=0.1", openmetrics},
      {"application/openmetrics-text;q=0", text},
      {"application/openmetrics-text;q=0.001", openmetrics},
      {"text/plain;q=0, application/openmetrics-text;q=0.1", openmetrics},
      {"*/*;q=0.9, application/openmetrics-text;q=0.8", text},
      {"text/*;q=0.2, application/openmetrics-text;q=0.3", openmetrics},
      {"text/plain;q=0.1, */*, application/openmetrics-text;q=0.5", openmetrics},
      {"application/*", text},
      {"application/json", text},
      // Malformed input falls back to text without throwing.
      {"application/openmetrics-text;q=abc", text},
      {"application/openmetrics-text;q=1.5", text},
      {"application/openmetrics-text;q=0.1234", text},
      {"application/openmetrics-text;q=", text},
      {"application/openmetrics-text;novalue", text},
      {",,,;;;===", text},
      {"\"application/openmetrics-text\"", text},
      {"application/openmetrics-text;version=\"1.0.0", text},
      {std::string("application/openmetrics-text\0;q=1", 33), text},
      {std::string(10000, ','), text},
      {"\xFF\xFE garbage \x01", text},
  };

  for (const auto& [accept, expected] : cases) {
    EXPECT_EQ(negotiate_format(accept), expected) << "Accept: " << accept;
  }
}

TEST(MetricsNegotiation, QuotedCommaDoesNotSplit) {
  EXPECT_EQ(negotiate_format("application/openmetrics-text;note=\"a,text/plain\""), openmetrics);
  EXPECT_EQ(negotiate_format("application/openmetrics-text;q=0.5;note=\"x\\\",y\", text/plain;q=0.4"), openmetrics);
}

}  // namespace
}  // namespace todo::obs
