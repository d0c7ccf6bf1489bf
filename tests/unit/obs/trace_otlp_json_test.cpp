#include "obs/otlp_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace todo::obs {
namespace {

span sample_span() {
  span item;
  item.name = "GET /todos";
  item.kind = span_kind::server;
  item.context.trace_id = trace_id::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").value();
  item.context.span_id = span_id::from_hex("00f067aa0ba902b7").value();
  item.context.flags = trace_flag_sampled;
  item.context.tracestate = "rojo=1";
  item.parent_span_id = span_id::from_hex("b7ad6b7169203331").value();
  item.start_time_unix_nano = 1700000000123456789ull;
  item.end_time_unix_nano = 1700000000223456789ull;
  item.attributes = {
      {"http.request.method", std::string("GET")},
      {"http.response.status_code", std::int64_t{9007199254740993}},
      {"todo.ratio", 0.25},
      {"todo.cached", true},
  };
  item.status = {span_status_code::error, "database timed out"};
  return item;
}

boost::json::object encode_one(const span& item) {
  const resource_attributes resource{"todo-web", {{"service.version", std::string("0.1.0")}}};
  const std::vector<span> spans{item};
  return boost::json::parse(encode_export_request(resource, "todo.http", "0.1.0", spans)).as_object();
}

const boost::json::object& first_span(const boost::json::object& request) {
  return request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).as_object();
}

TEST(OtlpJson, ResourceAttributes) {
  const auto request = encode_one(sample_span());
  ASSERT_EQ(request.at("resourceSpans").as_array().size(), 1u);
  const auto& attributes = request.at("resourceSpans").at(0).at("resource").at("attributes").as_array();
  ASSERT_EQ(attributes.size(), 2u);
  EXPECT_EQ(attributes.at(0).at("key").as_string(), "service.name");
  EXPECT_EQ(attributes.at(0).at("value").at("stringValue").as_string(), "todo-web");
  EXPECT_EQ(attributes.at(1).at("key").as_string(), "service.version");
  EXPECT_EQ(attributes.at(1).at("value").at("stringValue").as_string(), "0.1.0");
}

TEST(OtlpJson, Scope) {
  const auto request = encode_one(sample_span());
  const auto& scope_spans = request.at("resourceSpans").at(0).at("scopeSpans").as_array();
  ASSERT_EQ(scope_spans.size(), 1u);
  EXPECT_EQ(scope_spans.at(0).at("scope").at("name").as_string(), "todo.http");
  EXPECT_EQ(scope_spans.at(0).at("scope").at("version").as_string(), "0.1.0");
  EXPECT_EQ(scope_spans.at(0).at("spans").as_array().size(), 1u);
}

TEST(OtlpJson, SpanIdsAsLowercaseHex) {
  const auto request = encode_one(sample_span());
  const auto& item = first_span(request);
  EXPECT_EQ(item.at("traceId").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(item.at("spanId").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(item.at("parentSpanId").as_string(), "b7ad6b7169203331");
  EXPECT_EQ(item.at("traceState").as_string(), "rojo=1");
}

TEST(OtlpJson, SpanNameKindAndTimes) {
  const auto request = encode_one(sample_span());
  const auto& item = first_span(request);
  EXPECT_EQ(item.at("name").as_string(), "GET /todos");
  EXPECT_EQ(item.at("kind").as_int64(), 2);
  EXPECT_EQ(item.at("startTimeUnixNano").as_string(), "1700000000123456789");
  EXPECT_EQ(item.at("endTimeUnixNano").as_string(), "1700000000223456789");
}

TEST(OtlpJson, SpanAttributes) {
  const auto request = encode_one(sample_span());
  const auto& attributes = first_span(request).at("attributes").as_array();
  ASSERT_EQ(attributes.size(), 4u);
  EXPECT_EQ(attributes.at(0).at("key").as_string(), "http.request.method");
  EXPECT_EQ(attributes.at(0).at("value").at("stringValue").as_string(), "GET");
  EXPECT_EQ(attributes.at(1).at("key").as_string(), "http.response.status_code");
  EXPECT_EQ(attributes.at(1).at("value").at("intValue").as_string(), "9007199254740993");
  EXPECT_EQ(attributes.at(2).at("key").as_string(), "todo.ratio");
  EXPECT_DOUBLE_EQ(attributes.at(2).at("value").at("doubleValue").as_double(), 0.25);
  EXPECT_EQ(attributes.at(3).at("key").as_string(), "todo.cached");
  EXPECT_EQ(attributes.at(3).at("value").at("boolValue").as_bool(), true);
}

TEST(OtlpJson, SpanStatus) {
  const auto request = encode_one(sample_span());
  const auto& status = first_span(request).at("status").as_object();
  EXPECT_EQ(status.at("code").as_int64(), 2);
  EXPECT_EQ(status.at("message").as_string(), "database timed out");
}

TEST(OtlpJson, UnsetStatusHasNoMessage) {
  auto item = sample_span();
  item.status = {};
  const auto request = encode_one(item);
  const auto& status = first_span(request).at("status").as_object();
  EXPECT_EQ(status.at("code").as_int64(), 0);
  EXPECT_FALSE(status.contains("message"));
}

TEST(OtlpJson, RootSpanOmitsParentAndTraceState) {
  auto item = sample_span();
  item.parent_span_id.reset();
  item.context.tracestate.clear();
  const auto request = encode_one(item);
  EXPECT_FALSE(first_span(request).contains("parentSpanId"));
  EXPECT_FALSE(first_span(request).contains("traceState"));
}

TEST(OtlpJson, Events) {
  auto item = sample_span();
  item.events.push_back({"exception", 1700000000200000000ull, {{"exception.type", std::string("timeout")}}});
  const auto request = encode_one(item);
  const auto& events = first_span(request).at("events").as_array();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events.at(0).at("name").as_string(), "exception");
  EXPECT_EQ(events.at(0).at("timeUnixNano").as_string(), "1700000000200000000");
  EXPECT_EQ(events.at(0).at("attributes").at(0).at("key").as_string(), "exception.type");
  EXPECT_EQ(events.at(0).at("attributes").at(0).at("value").at("stringValue").as_string(), "timeout");
}

TEST(OtlpJson, NegativeIntAndSpecialDoubles) {
  auto item = sample_span();
  item.attributes = {
      {"negative", std::int64_t{-42}},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"infinity", -std::numeric_limits<double>::infinity()},
  };
  const auto request = encode_one(item);
  const auto& attributes = first_span(request).at("attributes").as_array();
  ASSERT_EQ(attributes.size(), 3u);
  EXPECT_EQ(attributes.at(0).at("value").at("intValue").as_string(), "-42");
  EXPECT_EQ(attributes.at(1).at("value").at("doubleValue").as_string(), "NaN");
  EXPECT_EQ(attributes.at(2).at("value").at("doubleValue").as_string(), "-Infinity");
}

TEST(OtlpJson, EscapesStrings) {
  auto item = sample_span();
  item.name = "say \"hi\"\n\xff";
  const auto request = encode_one(item);
  EXPECT_EQ(first_span(request).at("name").as_string(), "say \"hi\"\n\xEF\xBF\xBD");
}

TEST(OtlpJson, EmptySpanList) {
  const auto text = encode_export_request({"todo-web", {}}, "todo.http", "0.1.0", {});
  const auto request = boost::json::parse(text).as_object();
  EXPECT_TRUE(request.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().empty());
}

}  // namespace
}  // namespace todo::obs
