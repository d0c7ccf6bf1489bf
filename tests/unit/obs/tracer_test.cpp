#include "obs/tracer.hpp"

#include "obs/span_recorder.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace todo::obs {
namespace {

const attribute_value* find_attribute(const span& item, std::string_view key) {
  for (const auto& entry : item.attributes) {
    if (entry.key == key) return &entry.value;
  }
  return nullptr;
}

class Tracer : public ::testing::Test {
 protected:
  std::shared_ptr<span_recorder> processor = std::make_shared<span_recorder>();
  tracer always_on{sampler{sampler_kind::always_on, 1.0}, processor};
  tracer parent_based{sampler{sampler_kind::parentbased_always_on, 1.0}, processor};
  tracer always_off{sampler{sampler_kind::always_off, 1.0}, processor};
};

TEST_F(Tracer, RootSpanExportedOnEnd) {
  auto root = always_on.start_span("GET /", span_kind::server, std::nullopt);
  ASSERT_TRUE(root.recording());
  EXPECT_TRUE(root.sampled());
  EXPECT_TRUE(root.context().trace_id.valid());
  EXPECT_TRUE(root.context().span_id.valid());
  EXPECT_EQ(root.trace_id_hex(), root.context().trace_id.to_hex());
  EXPECT_EQ(root.span_id_hex().size(), 16u);
  EXPECT_TRUE(processor->spans().empty()) << "nothing is exported before the span ends";

  root.end();
  root.end();  // a second end does nothing
  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "GET /");
  EXPECT_EQ(spans[0].kind, span_kind::server);
  EXPECT_FALSE(spans[0].parent_span_id.has_value());
  EXPECT_GT(spans[0].start_time_unix_nano, 0u);
  EXPECT_GE(spans[0].end_time_unix_nano, spans[0].start_time_unix_nano);
}

TEST_F(Tracer, ChildSharesTraceAndNamesParent) {
  auto root = always_on.start_span("GET /", span_kind::server, std::nullopt);
  {
    auto child = root.as_parent().start_child("SELECT todos", span_kind::client);
    EXPECT_EQ(child.context().trace_id, root.context().trace_id);
    EXPECT_NE(child.context().span_id, root.context().span_id);
  }  // ends when destroyed
  root.end();

  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "SELECT todos");
  EXPECT_EQ(spans[0].kind, span_kind::client);
  ASSERT_TRUE(spans[0].parent_span_id.has_value());
  EXPECT_EQ(*spans[0].parent_span_id, spans[1].context.span_id);
}

TEST_F(Tracer, RemoteParentContinuedWithTracestate) {
  auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").value();
  parent.tracestate = "vendor=abc";
  auto server = parent_based.start_span("GET /", span_kind::server, parent);
  ASSERT_TRUE(server.recording());
  EXPECT_EQ(server.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(server.context().tracestate, "vendor=abc");
  server.end();
  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].parent_span_id->to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(spans[0].context.tracestate, "vendor=abc");
}

TEST_F(Tracer, UnsampledParentRecordsNothing) {
  const auto parent = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").value();
  auto server = parent_based.start_span("GET /", span_kind::server, parent);
  EXPECT_TRUE(server.valid());
  EXPECT_FALSE(server.recording());
  EXPECT_FALSE(server.sampled());
  EXPECT_EQ(server.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(format_traceparent(server.context()).substr(53), "00") << "the sampled flag stays cleared downstream";

  auto child = server.as_parent().start_child("SELECT", span_kind::client);
  EXPECT_FALSE(child.recording());
  server.set_attribute("http.route", "/");
  server.end();
  child.end();
  EXPECT_TRUE(processor->spans().empty());
}

TEST_F(Tracer, AlwaysOffStillPropagates) {
  auto root = always_off.start_span("GET /", span_kind::server, std::nullopt);
  EXPECT_TRUE(root.valid());
  EXPECT_FALSE(root.recording());
  root.end();
  EXPECT_TRUE(processor->spans().empty());
}

TEST_F(Tracer, EmptyParentMeansOff) {
  const trace_parent none;
  EXPECT_FALSE(none);
  auto span = none.start_child("SELECT", span_kind::client);
  EXPECT_FALSE(span.valid());
  EXPECT_TRUE(span.trace_id_hex().empty());
  EXPECT_TRUE(span.span_id_hex().empty());
  span.set_attribute("db.system", "postgresql");
  span.set_error("ignored");
  span.end();
  EXPECT_TRUE(processor->spans().empty());
}

TEST_F(Tracer, AttributeReplacesSameKey) {
  auto span = always_on.start_span("GET", span_kind::server, std::nullopt);
  span.set_attribute("http.response.status_code", std::int64_t{200});
  span.set_attribute("http.response.status_code", std::int64_t{503});
  span.set_attribute("todo.flag", true);
  span.set_attribute("todo.ratio", 0.5);
  span.set_name("GET /tasks/{id}");
  span.end();

  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "GET /tasks/{id}");
  EXPECT_EQ(spans[0].attributes.size(), 3u);
  EXPECT_EQ(std::get<std::int64_t>(*find_attribute(spans[0], "http.response.status_code")), 503);
  EXPECT_EQ(std::get<bool>(*find_attribute(spans[0], "todo.flag")), true);
  EXPECT_EQ(std::get<double>(*find_attribute(spans[0], "todo.ratio")), 0.5);
}

TEST_F(Tracer, ErrorKeepsFirstDescription) {
  auto span = always_on.start_span("GET", span_kind::server, std::nullopt);
  span.set_error("handler threw");
  span.set_error({});
  span.end();
  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status.code, span_status_code::error);
  EXPECT_EQ(spans[0].status.message, "handler threw");
}

TEST_F(Tracer, MovedSpanEndsOnce) {
  auto first = always_on.start_span("a", span_kind::internal, std::nullopt);
  const auto id = first.context().span_id;
  active_span second = std::move(first);
  EXPECT_FALSE(first.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(second.context().span_id, id);
  first.end();
  EXPECT_TRUE(processor->spans().empty());

  // Assigning over a live span ends it first.
  second = always_on.start_span("b", span_kind::internal, std::nullopt);
  ASSERT_EQ(processor->spans().size(), 1u);
  EXPECT_EQ(processor->spans()[0].name, "a");
  second.end();
  EXPECT_EQ(processor->spans().size(), 2u);
}

TEST_F(Tracer, InvalidParentStartsNewTrace) {
  span_context bad;  // all-zero ids
  bad.flags = trace_flag_sampled;
  auto span = parent_based.start_span("GET", span_kind::server, bad);
  EXPECT_TRUE(span.context().trace_id.valid());
  span.end();
  ASSERT_EQ(processor->spans().size(), 1u);
  EXPECT_FALSE(processor->spans()[0].parent_span_id.has_value());
}

}  // namespace
}  // namespace todo::obs
