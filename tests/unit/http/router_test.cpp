#include "http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using boost::beast::http::verb;
using todo::http::route_match;
using todo::http::router;

todo::http::handler no_op_handler() {
  return [](const todo::http::request&, todo::http::request_context&) -> boost::asio::awaitable<todo::http::response> {
    co_return todo::http::response{};
  };
}

router sample_router() {
  router routes;
  routes.add(verb::get, "/", "index", no_op_handler());
  routes.add(verb::post, "/add", "add_task", no_op_handler());
  routes.add(verb::get, "/api/todos/{id}", "get_todo", no_op_handler());
  routes.add(verb::delete_, "/api/todos/{id}", "delete_todo", no_op_handler());
  routes.add(verb::get, "/api/todos/export", "export_todos", no_op_handler());
  routes.add(verb::post, "/toggle/{id}", "toggle_task", no_op_handler());
  routes.add(verb::get, "/static/*", "static", no_op_handler());
  return routes;
}

TEST(Router, RootMatches) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::get, "/");
  EXPECT_EQ(match.outcome, route_match::status::found);
  EXPECT_EQ(match.name, "index");
  EXPECT_EQ(match.route_template, "/");
  EXPECT_TRUE(match.params.empty());
  EXPECT_NE(match.target, nullptr);
}

TEST(Router, ParameterIsCaptured) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::post, "/toggle/42");
  ASSERT_EQ(match.outcome, route_match::status::found);
  EXPECT_EQ(match.name, "toggle_task");
  EXPECT_EQ(match.route_template, "/toggle/{id}");
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0], "42");
}

TEST(Router, LiteralBeatsParameter) {
  const auto routes = sample_router();
  const auto literal = routes.match(verb::get, "/api/todos/export");
  EXPECT_EQ(literal.name, "export_todos");
  EXPECT_TRUE(literal.params.empty());

  const auto parameter = routes.match(verb::get, "/api/todos/7");
  EXPECT_EQ(parameter.name, "get_todo");
  ASSERT_EQ(parameter.params.size(), 1u);
  EXPECT_EQ(parameter.params[0], "7");
}

TEST(Router, LiteralBeatsParameterInEitherOrder) {
  router routes;
  routes.add(verb::get, "/api/todos/export", "export_todos", no_op_handler());
  routes.add(verb::get, "/api/todos/{id}", "get_todo", no_op_handler());
  EXPECT_EQ(routes.match(verb::get, "/api/todos/export").name, "export_todos");
  EXPECT_EQ(routes.match(verb::get, "/api/todos/3").name, "get_todo");
}

TEST(Router, ParameterBeatsWildcard) {
  router routes;
  routes.add(verb::get, "/files/*", "files_any", no_op_handler());
  routes.add(verb::get, "/files/{name}", "files_one", no_op_handler());
  EXPECT_EQ(routes.match(verb::get, "/files/a").name, "files_one");
  EXPECT_EQ(routes.match(verb::get, "/files/a/b").name, "files_any");
}

TEST(Router, OtherMethodFallsToParameterRoute) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::delete_, "/api/todos/export");
  ASSERT_EQ(match.outcome, route_match::status::found);
  EXPECT_EQ(match.name, "delete_todo");
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0], "export");
}

TEST(Router, PercentDecodesSegments) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::get, "/api/todos/a%20b%2Bc+d");
  ASSERT_EQ(match.outcome, route_match::status::found);
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0], "a b+c+d");

  const auto upper_and_lower = routes.match(verb::get, "/api/todos/%c3%A9");
  ASSERT_EQ(upper_and_lower.params.size(), 1u);
  EXPECT_EQ(upper_and_lower.params[0], "\xC3\xA9");
}

TEST(Router, EncodedLiteralMatchesLiteral) {
  const auto routes = sample_router();
  EXPECT_EQ(routes.match(verb::get, "/api/todos/%65xport").name, "export_todos");
}

TEST(Router, EncodedSlashIsNotFound) {
  const auto routes = sample_router();
  for (const auto* path : {"/api/todos/a%2Fb", "/api/todos/a%2fb", "/static/css%2Fapp.css"}) {
    const auto match = routes.match(verb::get, path);
    EXPECT_EQ(match.outcome, route_match::status::not_found) << path;
    EXPECT_EQ(match.name, "not_found") << path;
  }
}

TEST(Router, EncodedNulIsNotFound) {
  const auto routes = sample_router();
  EXPECT_EQ(routes.match(verb::get, "/api/todos/1%00").outcome, route_match::status::not_found);
}

TEST(Router, MalformedEscapesAreNotFound) {
  const auto routes = sample_router();
  for (const auto* path : {"/api/todos/%", "/api/todos/%4", "/api/todos/%zz", "/api/todos/1%g0", "/api/todos/%%"}) {
    EXPECT_EQ(routes.match(verb::get, path).outcome, route_match::status::not_found) << path;
  }
}

TEST(Router, UnknownPathIsNotFound) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::get, "/nothing/here");
  EXPECT_EQ(match.outcome, route_match::status::not_found);
  EXPECT_EQ(match.name, "not_found");
  EXPECT_EQ(match.target, nullptr);
  EXPECT_TRUE(match.allow.empty());
}

TEST(Router, PathWithoutLeadingSlashIsNotFound) {
  const auto routes = sample_router();
  EXPECT_EQ(routes.match(verb::get, "").outcome, route_match::status::not_found);
  EXPECT_EQ(routes.match(verb::get, "add").outcome, route_match::status::not_found);
  EXPECT_EQ(routes.match(verb::get, "*").outcome, route_match::status::not_found);
}

TEST(Router, EmptyParameterSegmentIsNotFound) {
  const auto routes = sample_router();
  EXPECT_EQ(routes.match(verb::get, "/api/todos/").outcome, route_match::status::not_found);
  EXPECT_EQ(routes.match(verb::post, "/toggle/").outcome, route_match::status::not_found);
}

TEST(Router, TrailingSlashAndDoubleSlashDoNotMatch) {
  const auto routes = sample_router();
  EXPECT_EQ(routes.match(verb::post, "/add/").outcome, route_match::status::not_found);
  EXPECT_EQ(routes.match(verb::post, "//add").outcome, route_match::status::not_found);
  EXPECT_EQ(routes.match(verb::get, "/api//todos/1").outcome, route_match::status::not_found);
}

TEST(Router, WrongMethodGivesAllow) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::get, "/add");
  EXPECT_EQ(match.outcome, route_match::status::method_not_allowed);
  EXPECT_EQ(match.name, "method_not_allowed");
  EXPECT_EQ(match.target, nullptr);
  EXPECT_EQ(match.allow, "POST");
}

TEST(Router, AllowListsGetHeadAndOthersInOrder) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::put, "/api/todos/5");
  EXPECT_EQ(match.outcome, route_match::status::method_not_allowed);
  EXPECT_EQ(match.allow, "GET, HEAD, DELETE");
}

TEST(Router, AllowCombinesLiteralAndParameterRoutes) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::post, "/api/todos/export");
  EXPECT_EQ(match.outcome, route_match::status::method_not_allowed);
  EXPECT_EQ(match.allow, "GET, HEAD, DELETE");
}

TEST(Router, HeadIsAnsweredByGet) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::head, "/api/todos/9");
  ASSERT_EQ(match.outcome, route_match::status::found);
  EXPECT_EQ(match.name, "get_todo");
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0], "9");
}

TEST(Router, HeadOnPostOnlyRouteIsNotAllowed) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::head, "/add");
  EXPECT_EQ(match.outcome, route_match::status::method_not_allowed);
  EXPECT_EQ(match.allow, "POST");
}

TEST(Router, ExplicitHeadRouteBeatsGet) {
  router routes;
  routes.add(verb::get, "/health", "health_get", no_op_handler());
  routes.add(verb::head, "/health", "health_head", no_op_handler());
  EXPECT_EQ(routes.match(verb::head, "/health").name, "health_head");
  EXPECT_EQ(routes.match(verb::get, "/health").name, "health_get");
}

TEST(Router, UnknownMethodIsNotAllowed) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::unknown, "/add");
  EXPECT_EQ(match.outcome, route_match::status::method_not_allowed);
  EXPECT_EQ(match.allow, "POST");
}

TEST(Router, WildcardCapturesDecodedRest) {
  const auto routes = sample_router();
  const auto match = routes.match(verb::get, "/static/css/app%20v2.css");
  ASSERT_EQ(match.outcome, route_match::status::found);
  EXPECT_EQ(match.name, "static");
  EXPECT_EQ(match.route_template, "/static/*");
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0], "css/app v2.css");
}

TEST(Router, WildcardPassesDotSegmentsThrough) {
  // The static file handler rejects these; the router only decodes.
  const auto routes = sample_router();
  const auto match = routes.match(verb::get, "/static/%2e%2e/secret");
  ASSERT_EQ(match.outcome, route_match::status::found);
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0], "../secret");
}

TEST(Router, WildcardNeedsAtLeastOneSegment) {
  const auto routes = sample_router();
  EXPECT_EQ(routes.match(verb::get, "/static").outcome, route_match::status::not_found);

  const auto empty_rest = routes.match(verb::get, "/static/");
  ASSERT_EQ(empty_rest.outcome, route_match::status::found);
  ASSERT_EQ(empty_rest.params.size(), 1u);
  EXPECT_EQ(empty_rest.params[0], "");
}

TEST(Router, HostilePathsDoNotCrash) {
  const auto routes = sample_router();
  std::string many_segments;
  for (int i = 0; i < 10000; ++i) many_segments.append("/a");
  EXPECT_EQ(routes.match(verb::get, many_segments).outcome, route_match::status::not_found);

  std::string binary = "/api/todos/";
  for (int c = 1; c < 256; ++c) {
    if (c != '/') binary.push_back(static_cast<char>(c));
  }
  const auto match = routes.match(verb::get, binary);
  EXPECT_EQ(match.outcome, route_match::status::not_found);  // contains a lone '%'

  EXPECT_EQ(routes.match(verb::get, std::string("/api/todos/\0x", 13)).outcome, route_match::status::not_found);
}

TEST(Router, InvalidTemplatesAreRejected) {
  router routes;
  EXPECT_THROW(routes.add(verb::get, "", "empty", no_op_handler()), std::invalid_argument);
  EXPECT_THROW(routes.add(verb::get, "relative", "relative", no_op_handler()), std::invalid_argument);
  EXPECT_THROW(routes.add(verb::get, "/a//b", "double_slash", no_op_handler()), std::invalid_argument);
  EXPECT_THROW(routes.add(verb::get, "/a/", "trailing_slash", no_op_handler()), std::invalid_argument);
  EXPECT_THROW(routes.add(verb::get, "/a/{}", "unnamed", no_op_handler()), std::invalid_argument);
  EXPECT_THROW(routes.add(verb::get, "/*/a", "early_wildcard", no_op_handler()), std::invalid_argument);
  EXPECT_THROW(routes.add(verb::get, "/a{id}", "mixed", no_op_handler()), std::invalid_argument);
}

TEST(Router, DuplicateRouteIsRejected) {
  router routes;
  routes.add(verb::get, "/api/todos/{id}", "first", no_op_handler());
  EXPECT_THROW(routes.add(verb::get, "/api/todos/{todo_id}", "second", no_op_handler()), std::invalid_argument);
  EXPECT_NO_THROW(routes.add(verb::put, "/api/todos/{id}", "update", no_op_handler()));
}

}  // namespace
