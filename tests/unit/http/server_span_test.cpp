#include "http/server_span.hpp"

#include "obs/span_recorder.hpp"

#include "http/request_pipeline.hpp"
#include "http/responses.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>


namespace todo::http {
namespace {

namespace asio = boost::asio;

std::string attribute_text(const obs::span& item, std::string_view key) {
  for (const auto& entry : item.attributes) {
    if (entry.key != key) continue;
    if (const auto* text = std::get_if<std::string>(&entry.value)) return *text;
    if (const auto* number = std::get_if<std::int64_t>(&entry.value)) return std::to_string(*number);
  }
  return "(missing)";
}

request make_request(beast_http::verb method, std::string target) {
  request req{method, target, 11};
  req.set(beast_http::field::host, "todo.test:8080");
  req.set(beast_http::field::user_agent, "curl/8.0");
  return req;
}

router sample_routes() {
  router routes;
  routes.add(beast_http::verb::get, "/items/{id}", "get_item",
             [](const request& req, request_context&) -> asio::awaitable<response> {
               co_return json_response(req, beast_http::status::ok, boost::json::object{{"ok", true}});
             });
  routes.add(beast_http::verb::get, "/healthz", "health_check",
             [](const request& req, request_context&) -> asio::awaitable<response> {
               co_return json_response(req, beast_http::status::ok, boost::json::object{{"ok", true}});
             });
  routes.add(beast_http::verb::get, "/boom", "boom", [](const request&, request_context&) -> asio::awaitable<response> {
    throw std::runtime_error("exploded");
    co_return response{};
  });
  return routes;
}

class ServerSpan : public ::testing::Test {
 protected:
  response dispatch(const request& req, request_context& context) {
    asio::io_context io;
    auto result = asio::co_spawn(io, dispatch_request(routes, req, context, tracing), asio::use_future);
    io.run();
    auto res = result.get();
    finalize_response(res, req, context, true);
    finish_server_span(context.span, res.result_int());
    context.span.end();
    return res;
  }

  std::shared_ptr<obs::span_recorder> processor = std::make_shared<obs::span_recorder>();
  obs::tracer tracer{obs::sampler{obs::sampler_kind::parentbased_always_on, 1.0}, processor};
  request_tracing tracing{&tracer, {"health_check"}};
  router routes = sample_routes();
};

TEST_F(ServerSpan, NamedByRouteTemplateWithHttpAttributes) {
  auto req = make_request(beast_http::verb::get, "/items/42?secret=1");
  request_context context;
  context.request_id = "rid-1";
  context.client_ip = "203.0.113.9";
  const auto res = dispatch(req, context);
  EXPECT_EQ(res.result_int(), 200u);

  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  const auto& span = spans[0];
  EXPECT_EQ(span.name, "GET /items/{id}");
  EXPECT_EQ(span.kind, obs::span_kind::server);
  EXPECT_EQ(attribute_text(span, "http.request.method"), "GET");
  EXPECT_EQ(attribute_text(span, "url.path"), "/items/42");
  EXPECT_EQ(attribute_text(span, "url.scheme"), "http");
  EXPECT_EQ(attribute_text(span, "http.route"), "/items/{id}");
  EXPECT_EQ(attribute_text(span, "http.response.status_code"), "200");
  EXPECT_EQ(attribute_text(span, "client.address"), "203.0.113.9");
  EXPECT_EQ(attribute_text(span, "user_agent.original"), "curl/8.0");
  EXPECT_EQ(attribute_text(span, "server.address"), "todo.test");
  EXPECT_EQ(attribute_text(span, "server.port"), "8080");
  EXPECT_EQ(attribute_text(span, "network.protocol.version"), "1.1");
  EXPECT_EQ(span.status.code, obs::span_status_code::unset);

  EXPECT_EQ(res["traceparent"], obs::format_traceparent(span.context));
  EXPECT_EQ(res["X-Request-ID"], "rid-1");
}

TEST_F(ServerSpan, Ipv6HostLosesBrackets) {
  auto req = make_request(beast_http::verb::get, "/items/1");
  req.set(beast_http::field::host, "[::1]:5000");
  request_context context;
  dispatch(req, context);
  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(attribute_text(spans[0], "server.address"), "::1");
  EXPECT_EQ(attribute_text(spans[0], "server.port"), "5000");
}

TEST_F(ServerSpan, HandlerExceptionSetsErrorStatus) {
  auto req = make_request(beast_http::verb::get, "/boom");
  request_context context;
  const auto res = dispatch(req, context);
  EXPECT_EQ(res.result_int(), 500u);
  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status.code, obs::span_status_code::error);
  EXPECT_EQ(spans[0].status.message, "exploded");
  EXPECT_EQ(attribute_text(spans[0], "error.type"), "500");
}

TEST_F(ServerSpan, UntracedRoutesGetNoSpanOrHeader) {
  auto req = make_request(beast_http::verb::get, "/healthz");
  request_context context;
  const auto res = dispatch(req, context);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_TRUE(processor->spans().empty());
  EXPECT_EQ(res.count("traceparent"), 0u);
  EXPECT_TRUE(context.log().trace_id.empty());
}

TEST_F(ServerSpan, UnknownMethodIsOther) {
  request req{beast_http::verb::unknown, "/items/1", 11};
  req.method_string("PURGE");
  req.set(beast_http::field::host, "todo.test");
  request_context context;
  dispatch(req, context);
  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "HTTP") << "an unknown method, and a 405 has no route";
  EXPECT_EQ(attribute_text(spans[0], "http.request.method"), "_OTHER");
  EXPECT_EQ(attribute_text(spans[0], "http.request.method_original"), "PURGE");
  EXPECT_EQ(attribute_text(spans[0], "server.port"), "(missing)");
}

TEST_F(ServerSpan, LogContextCarriesTheSpanIds) {
  auto req = make_request(beast_http::verb::get, "/items/1");
  request_context context;
  context.request_id = "rid-9";
  asio::io_context io;
  auto result = asio::co_spawn(io, dispatch_request(routes, req, context, tracing), asio::use_future);
  io.run();
  result.get();
  const auto ids = context.log();
  EXPECT_EQ(ids.request_id, "rid-9");
  EXPECT_EQ(ids.trace_id, context.span.context().trace_id.to_hex());
  EXPECT_EQ(ids.span_id, context.span.context().span_id.to_hex());
}

TEST(IncomingParent, ReadsValidHeaders) {
  request req{beast_http::verb::get, "/", 11};
  req.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  req.insert("tracestate", "congo=t61rcWkgMzE");
  req.insert("tracestate", " rojo=00f067aa0ba902b7");
  const auto parent = incoming_parent(req);
  ASSERT_TRUE(parent.has_value());
  EXPECT_EQ(parent->trace_id.to_hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(parent->span_id.to_hex(), "b7ad6b7169203331");
  EXPECT_TRUE(parent->sampled());
  EXPECT_TRUE(parent->remote);
  EXPECT_EQ(parent->tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}

TEST(IncomingParent, RejectsRepeatedOrInvalidTraceparent) {
  request twice{beast_http::verb::get, "/", 11};
  twice.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  twice.insert("traceparent", "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_FALSE(incoming_parent(twice).has_value());

  request invalid{beast_http::verb::get, "/", 11};
  invalid.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331");
  invalid.set("tracestate", "congo=t61rcWkgMzE");
  EXPECT_FALSE(incoming_parent(invalid).has_value());

  request none{beast_http::verb::get, "/", 11};
  EXPECT_FALSE(incoming_parent(none).has_value());
}

TEST(IncomingParent, DropsAnInvalidTracestateAlone) {
  request req{beast_http::verb::get, "/", 11};
  req.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
  req.set("tracestate", "Bad Key=value");
  const auto parent = incoming_parent(req);
  ASSERT_TRUE(parent.has_value());
  EXPECT_FALSE(parent->sampled());
  EXPECT_EQ(parent->tracestate, "");
}

}  // namespace
}  // namespace todo::http
