#include "obs/metrics_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace todo::obs {
namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

std::string sample_value(double value) {
  std::string out;
  append_sample_value(out, value);
  return out;
}

std::string bound(double value, exposition_format format) {
  std::string out;
  append_bucket_bound(out, value, format);
  return out;
}

std::string timestamp(std::int64_t milliseconds) {
  std::string out;
  append_timestamp_seconds(out, milliseconds);
  return out;
}

TEST(MetricsText, SampleValues) {
  struct example {
    double value;
    std::string expected;
  };
  const std::vector<example> examples = {
      {0.0, "0"},
      {-0.0, "0"},
      {1.0, "1"},
      {-3.0, "-3"},
      {1e6, "1000000"},
      {9007199254740994.0, "9007199254740994"},
      {2.5, "2.5"},
      {0.1, "0.1"},
      {1.0 / 3.0, "0.3333333333333333"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1e-7, "1e-07"},
      {123456789.5, "1.234567895e+08"},
      {1.5e300, "1.5e+300"},
      {1e300, "1e+300"},
      {std::nan(""), "NaN"},
      {infinity, "+Inf"},
      {-infinity, "-Inf"},
  };
  for (const auto& [value, expected] : examples) {
    EXPECT_EQ(sample_value(value), expected) << "value " << value;
  }
}

TEST(MetricsText, SampleValuesRoundTrip) {
  for (const double value : {0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 123456.789, 6.02214076e23, 0.30000000000000004}) {
    EXPECT_EQ(std::stod(sample_value(value)), value) << sample_value(value);
  }
}

TEST(MetricsText, OpenMetricsBucketBoundsAreCanonical) {
  struct example {
    double value;
    std::string expected;
  };
  const std::vector<example> examples = {
      {0.0, "0.0"},   {0.0005, "0.0005"}, {0.001, "0.001"},    {0.95, "0.95"},  {1.0, "1.0"},
      {1.7, "1.7"},   {10.0, "10.0"},     {100000.0, "100000.0"}, {1e6, "1e+06"}, {1e-5, "1e-05"},
      {1e-10, "1e-10"}, {1e10, "1e+10"},  {1.1e23, "1.1e+23"}, {-1.0, "-1.0"},  {infinity, "+Inf"},
  };
  for (const auto& [value, expected] : examples) {
    EXPECT_EQ(bound(value, exposition_format::openmetrics), expected) << "bound " << value;
  }
}

TEST(MetricsText, TextBucketBoundsMatchSampleValues) {
  EXPECT_EQ(bound(1.0, exposition_format::text), "1");
  EXPECT_EQ(bound(0.0005, exposition_format::text), "0.0005");
  EXPECT_EQ(bound(2.5, exposition_format::text), "2.5");
  EXPECT_EQ(bound(1e6, exposition_format::text), "1000000");
  EXPECT_EQ(bound(infinity, exposition_format::text), "+Inf");
}

TEST(MetricsText, RequestBucketsRenderCanonically) {
  const std::vector<std::string> openmetrics = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                                "0.1",    "0.25",  "0.5",    "1.0",   "2.5",  "5.0",   "10.0"};
  const std::vector<std::string> text = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                         "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};
  ASSERT_EQ(request_duration_buckets_seconds.size(), openmetrics.size());
  for (std::size_t i = 0; i < openmetrics.size(); ++i) {
    EXPECT_EQ(bound(request_duration_buckets_seconds[i], exposition_format::openmetrics), openmetrics[i]);
    EXPECT_EQ(bound(request_duration_buckets_seconds[i], exposition_format::text), text[i]);
  }
}

TEST(MetricsText, TimestampsInSeconds) {
  EXPECT_EQ(timestamp(1700000000123), "1700000000.123");
  EXPECT_EQ(timestamp(1700000000000), "1700000000.000");
  EXPECT_EQ(timestamp(5), "0.005");
  EXPECT_EQ(timestamp(0), "0.000");
  EXPECT_EQ(timestamp(-1), "-0.001");
  EXPECT_EQ(timestamp(-1500), "-1.500");
}

TEST(MetricsText, LabelValueEscaping) {
  std::string out;
  append_escaped_label_value(out, "a\"b\\c\nd");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd");
}

TEST(MetricsText, LabelValueKeepsUtf8AndReplacesInvalidBytes) {
  std::string out;
  append_escaped_label_value(out, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(out, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");

  out.clear();
  append_escaped_label_value(out, std::string("a\xFF" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x82", 12));
  EXPECT_EQ(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                 "d\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(MetricsText, HelpEscapingDependsOnFormat) {
  const std::string help = "Line one\nback\\slash \"quoted\"";
  std::string text;
  append_escaped_help(text, help, exposition_format::text);
  EXPECT_EQ(text, "Line one\\nback\\\\slash \"quoted\"");

  std::string openmetrics;
  append_escaped_help(openmetrics, help, exposition_format::openmetrics);
  EXPECT_EQ(openmetrics, "Line one\\nback\\\\slash \\\"quoted\\\"");
}

TEST(MetricsText, MetricNameValidation) {
  EXPECT_TRUE(is_valid_metric_name("todo_http_requests_total"));
  EXPECT_TRUE(is_valid_metric_name("_private"));
  EXPECT_TRUE(is_valid_metric_name("job:rate5m"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_FALSE(is_valid_metric_name("1st"));
  EXPECT_FALSE(is_valid_metric_name("has space"));
  EXPECT_FALSE(is_valid_metric_name("dash-name"));
  EXPECT_FALSE(is_valid_metric_name("caf\xC3\xA9"));
}

TEST(MetricsText, LabelNameValidation) {
  EXPECT_TRUE(is_valid_label_name("method"));
  EXPECT_TRUE(is_valid_label_name("_x1"));
  EXPECT_FALSE(is_valid_label_name(""));
  EXPECT_FALSE(is_valid_label_name("__name__"));
  EXPECT_FALSE(is_valid_label_name("job:rate"));
  EXPECT_FALSE(is_valid_label_name("9lives"));
}

TEST(MetricsText, MetadataOrderAndCounterName) {
  std::string text;
  append_metadata(text, exposition_format::text, metric_type::counter, "jobs_total", "Jobs run.");
  EXPECT_EQ(text, "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\n");

  std::string openmetrics;
  append_metadata(openmetrics, exposition_format::openmetrics, metric_type::counter, "jobs_total", "Jobs run.");
  EXPECT_EQ(openmetrics, "# TYPE jobs counter\n# HELP jobs Jobs run.\n");

  std::string without_help;
  append_metadata(without_help, exposition_format::text, metric_type::gauge, "depth", "");
  EXPECT_EQ(without_help, "# TYPE depth gauge\n");
}

}  // namespace
}  // namespace todo::obs
