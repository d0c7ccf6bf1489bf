#include "http/request_pipeline.hpp"

#include "http/responses.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using todo::http::request;
using todo::http::request_context;
using todo::http::response;

response run_dispatch(const todo::http::router& routes, const request& req, request_context& context) {
  asio::io_context io;
  auto result = asio::co_spawn(io, todo::http::dispatch_request(routes, req, context), asio::use_future);
  io.run();
  return result.get();
}

todo::http::router sample_router() {
  todo::http::router routes;
  routes.add(beast_http::verb::get, "/items/{id}", "get_item",
             [](const request& req, request_context& context) -> asio::awaitable<response> {
               co_return todo::http::json_response(
                   req, beast_http::status::ok,
                   boost::json::object{{"id", context.path_params.at(0)},
                                       {"route", context.route_name},
                                       {"template", context.route_template}});
             });
  routes.add(beast_http::verb::post, "/items", "add_item",
             [](const request& req, request_context&) -> asio::awaitable<response> {
               co_return todo::http::redirect(req, "/");
             });
  routes.add(beast_http::verb::get, "/boom", "boom", [](const request&, request_context&) -> asio::awaitable<response> {
    throw std::runtime_error("database exploded");
    co_return response{};
  });
  routes.add(beast_http::verb::get, "/odd", "odd", [](const request&, request_context&) -> asio::awaitable<response> {
    throw 42;
    co_return response{};
  });
  return routes;
}

request_context make_context() {
  request_context context;
  context.request_id = "rid-7";
  context.client_ip = "127.0.0.1";
  return context;
}

TEST(RequestTargetPath, OriginForm) {
  EXPECT_EQ(todo::http::request_target_path("/a/b?x=1&y=2"), "/a/b");
  EXPECT_EQ(todo::http::request_target_path("/"), "/");
  EXPECT_EQ(todo::http::request_target_path("/a%20b"), "/a%20b");
  EXPECT_EQ(todo::http::request_target_path("//double"), "//double");
}

TEST(RequestTargetPath, AbsoluteForm) {
  EXPECT_EQ(todo::http::request_target_path("http://todo.example/a?b"), "/a");
  EXPECT_EQ(todo::http::request_target_path("http://todo.example"), "/");
}

TEST(RequestTargetPath, InvalidTargets) {
  EXPECT_FALSE(todo::http::request_target_path("*"));
  EXPECT_FALSE(todo::http::request_target_path(""));
  EXPECT_FALSE(todo::http::request_target_path("/a b"));
  EXPECT_FALSE(todo::http::request_target_path("/a%zz"));
  EXPECT_FALSE(todo::http::request_target_path("todo.example:443"));
  EXPECT_FALSE(todo::http::request_target_path("mailto:someone@todo.example"));
}

TEST(DispatchRequest, FoundRouteFillsContext) {
  const auto routes = sample_router();
  request req{beast_http::verb::get, "/items/a%20b?x=1", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(boost::json::parse(res.body()),
            (boost::json::object{{"id", "a b"}, {"route", "get_item"}, {"template", "/items/{id}"}}));
  EXPECT_EQ(context.route_name, "get_item");
}

TEST(DispatchRequest, NotFoundIsJson) {
  const auto routes = sample_router();
  request req{beast_http::verb::get, "/nothing", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::not_found);
  EXPECT_EQ(boost::json::parse(res.body()), (boost::json::object{{"error", "not found"}, {"request_id", "rid-7"}}));
  EXPECT_EQ(context.route_name, "not_found");
}

TEST(DispatchRequest, WrongMethodIs405WithAllow) {
  const auto routes = sample_router();
  request req{beast_http::verb::delete_, "/items/3", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::method_not_allowed);
  EXPECT_EQ(res[beast_http::field::allow], "GET, HEAD");
  EXPECT_EQ(boost::json::parse(res.body()),
            (boost::json::object{{"error", "method not allowed"}, {"request_id", "rid-7"}}));
  EXPECT_EQ(context.route_name, "method_not_allowed");
}

// A 5xx here would let any client raise the error-rate alerts, so an unknown
// method is treated like any other method the route does not allow.
TEST(DispatchRequest, UnknownMethodIs405) {
  const auto routes = sample_router();
  request req;
  req.method_string("FOO");
  req.target("/items/3");
  req.version(11);
  req.set(beast_http::field::host, "localhost");
  ASSERT_EQ(req.method(), beast_http::verb::unknown);
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::method_not_allowed);
  EXPECT_FALSE(res[beast_http::field::allow].empty());
  EXPECT_EQ(context.route_name, "method_not_allowed");
}

TEST(DispatchRequest, MissingHostIs400) {
  const auto routes = sample_router();
  request req{beast_http::verb::get, "/items/3", 11};
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
  EXPECT_EQ(context.route_name, "bad_request");
}

TEST(DispatchRequest, Http10WithoutHostIsAccepted) {
  const auto routes = sample_router();
  request req{beast_http::verb::get, "/items/3", 10};
  auto context = make_context();
  EXPECT_NE(run_dispatch(routes, req, context).result(), beast_http::status::bad_request);
}

TEST(DispatchRequest, TransferCodingsAreChecked) {
  const auto routes = sample_router();
  request gzip{beast_http::verb::post, "/items", 11};
  gzip.set(beast_http::field::host, "localhost");
  gzip.set(beast_http::field::transfer_encoding, "gzip, chunked");
  auto context = make_context();
  EXPECT_EQ(run_dispatch(routes, gzip, context).result(), beast_http::status::bad_request);

  request old{beast_http::verb::post, "/items", 10};
  old.set(beast_http::field::transfer_encoding, "chunked");
  EXPECT_EQ(run_dispatch(routes, old, context).result(), beast_http::status::bad_request);
}

TEST(DispatchRequest, InvalidTargetIs400) {
  const auto routes = sample_router();
  request req{beast_http::verb::get, "*", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
  EXPECT_EQ(context.route_name, "bad_request");
}

TEST(DispatchRequest, CrossSiteWriteIs403) {
  const auto routes = sample_router();
  request req{beast_http::verb::post, "/items", 11};
  req.set(beast_http::field::host, "localhost");
  req.set(beast_http::field::host, "todo.example");
  req.set(beast_http::field::origin, "https://evil.example");
  auto context = make_context();
  const auto res = run_dispatch(routes, req, context);
  EXPECT_EQ(res.result(), beast_http::status::forbidden);
  const auto body = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(body.at("error"),
            "cross-site request rejected: Origin 'https://evil.example' does not match Host 'todo.example'");
  EXPECT_EQ(body.at("request_id"), "rid-7");
  EXPECT_EQ(context.route_name, "add_item");
}

TEST(DispatchRequest, SameSiteWriteReachesHandler) {
  const auto routes = sample_router();
  request req{beast_http::verb::post, "/items", 11};
  req.set(beast_http::field::host, "localhost");
  req.set(beast_http::field::host, "todo.example");
  req.set(beast_http::field::origin, "https://todo.example");
  auto context = make_context();
  EXPECT_EQ(run_dispatch(routes, req, context).result(), beast_http::status::see_other);
}

TEST(DispatchRequest, HandlerExceptionIs500) {
  const auto routes = sample_router();
  for (const auto* target : {"/boom", "/odd"}) {
    request req{beast_http::verb::get, target, 11};
    req.set(beast_http::field::host, "localhost");
    auto context = make_context();
    const auto res = run_dispatch(routes, req, context);
    EXPECT_EQ(res.result(), beast_http::status::internal_server_error) << target;
    EXPECT_EQ(boost::json::parse(res.body()),
              (boost::json::object{{"error", "internal server error"}, {"request_id", "rid-7"}}));
    EXPECT_EQ(res.body().find("exploded"), std::string::npos);
  }
}

TEST(FinalizeResponse, AddsCommonHeaders) {
  request req{beast_http::verb::get, "/", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  response res{beast_http::status::ok, 11};
  res.body() = "hello";
  todo::http::finalize_response(res, req, context, true);
  EXPECT_EQ(res["X-Request-ID"], "rid-7");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res[beast_http::field::content_length], "5");
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res.count(beast_http::field::connection), 0u);
}

TEST(FinalizeResponse, CloseSetsConnectionHeader) {
  request req{beast_http::verb::get, "/", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  response res{beast_http::status::ok, 11};
  todo::http::finalize_response(res, req, context, false);
  EXPECT_EQ(res[beast_http::field::connection], "close");
  EXPECT_EQ(res[beast_http::field::content_length], "0");
}

TEST(FinalizeResponse, HeadKeepsLengthWithoutBody) {
  request req{beast_http::verb::head, "/", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  response res{beast_http::status::ok, 11};
  res.body() = "twelve bytes";
  res.prepare_payload();
  todo::http::finalize_response(res, req, context, true);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[beast_http::field::content_length], "12");
}

TEST(FinalizeResponse, StaleLengthIsCorrected) {
  request req{beast_http::verb::get, "/", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  response res{beast_http::status::ok, 11};
  res.content_length(99);
  res.body() = "short";
  todo::http::finalize_response(res, req, context, true);
  EXPECT_EQ(res[beast_http::field::content_length], "5");
}

TEST(FinalizeResponse, NotModifiedHasNoBody) {
  request req{beast_http::verb::get, "/", 11};
  req.set(beast_http::field::host, "localhost");
  auto context = make_context();
  response res{beast_http::status::not_modified, 11};
  res.content_length(40);
  res.body() = "should not be sent";
  todo::http::finalize_response(res, req, context, true);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[beast_http::field::content_length], "40");
}

TEST(FinalizeResponse, VersionFollowsRequest) {
  request req{beast_http::verb::get, "/", 10};
  auto context = make_context();
  response res{beast_http::status::ok, 11};
  todo::http::finalize_response(res, req, context, false);
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
}

}  // namespace
