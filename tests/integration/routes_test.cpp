// Every route of todo-web, against the real binary and PostgreSQL.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace todo::testing {
namespace {

namespace json = boost::json;

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { reset_todos(); }

  web_process& web = shared_web();

  // Adds a todo through the JSON API and returns its id.
  std::int64_t create(const std::string& text) {
    auto response = web.post_json("/api/todos", json::serialize(json::object{{"text", text}}));
    EXPECT_EQ(response.status, 201) << response.body;
    return response.json().at("id").as_int64();
  }

  json::array list() {
    auto response = web.get("/api/todos");
    EXPECT_EQ(response.status, 200) << response.body;
    return response.json().as_array();
  }
};

TEST_F(RoutesTest, AddFormRedirectsAndAppends) {
  auto first = web.post_form("/add", "task=%20Buy+milk%20");
  EXPECT_EQ(first.status, 303);
  EXPECT_EQ(first.header("Location"), "/");
  web.post_form("/add", "task=Walk+the+dog");

  auto todos = list();
  ASSERT_EQ(todos.size(), 2u);
  EXPECT_EQ(todos[0].at("text").as_string(), "Buy milk");
  EXPECT_EQ(todos[1].at("text").as_string(), "Walk the dog");
  EXPECT_EQ(todos[0].at("position").as_int64(), 1);
  EXPECT_EQ(todos[1].at("position").as_int64(), 2);
  EXPECT_EQ(todos[0].at("done").as_bool(), false);
}

TEST_F(RoutesTest, EmptyAddChangesNothing) {
  auto response = web.post_form("/add", "task=+++");
  EXPECT_EQ(response.status, 303);
  EXPECT_TRUE(list().empty());
  // The log writer is asynchronous: wait for the warning and the access line.
  const auto id = response.header("X-Request-ID");
  for (int i = 0; i < 100 && web.logs_where("request_id", id).size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(web.logs_where("request_id", response.header("X-Request-ID")).empty());
  bool warned = false;
  for (const auto& line : web.logs_where("request_id", response.header("X-Request-ID"))) {
    if (line.at("level").as_string() == "WARNING") warned = true;
  }
  EXPECT_TRUE(warned) << "an empty task logs a warning";
}

TEST_F(RoutesTest, IndexShowsItemsEscapedInOrder) {
  create("first <b>bold</b>");
  create("second & \"quoted\"");
  auto page = web.get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("first &lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(page.body.find("<b>bold</b>"), std::string::npos);
  EXPECT_NE(page.body.find("second &amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_LT(page.body.find("first &lt;b&gt;"), page.body.find("second &amp;"));
  const auto csp = page.header("Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
}

TEST_F(RoutesTest, IndexOrdersEqualPositionsNewestFirst) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position, created_at) VALUES "
               "('older', 5, now() - interval '1 hour'), ('newer', 5, now()), ('first', 1, now())");
  auto todos = list();
  ASSERT_EQ(todos.size(), 3u);
  EXPECT_EQ(todos[0].at("text").as_string(), "first");
  EXPECT_EQ(todos[1].at("text").as_string(), "newer");
  EXPECT_EQ(todos[2].at("text").as_string(), "older");
}

TEST_F(RoutesTest, ToggleFlipsDoneAndReturnsJson) {
  const auto id = create("toggle me");
  auto response = web.request("POST", "/toggle/" + std::to_string(id));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json().at("id").as_int64(), id);
  EXPECT_EQ(response.json().at("done").as_bool(), true);
  EXPECT_EQ(web.request("POST", "/toggle/" + std::to_string(id)).json().at("done").as_bool(), false);
}

TEST_F(RoutesTest, ToggleFormPostRedirects) {
  const auto id = create("no script");
  auto response = web.post_form("/toggle/" + std::to_string(id), "", {{"Accept", "text/html"}});
  EXPECT_EQ(response.status, 303);
  EXPECT_EQ(list()[0].at("done").as_bool(), true);
}

TEST_F(RoutesTest, ToggleUnknownIdIs404Json) {
  auto response = web.request("POST", "/toggle/999999");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.json().at("error").as_string(), "not found");
  EXPECT_EQ(response.json().at("request_id").as_string(), response.header("X-Request-ID"));
}

TEST_F(RoutesTest, EditChangesText) {
  const auto id = create("old");
  auto response = web.post_json("/edit/" + std::to_string(id), R"({"text": "  new text  "})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json().at("id").as_int64(), id);
  EXPECT_EQ(response.json().at("text").as_string(), "new text");
  EXPECT_EQ(list()[0].at("text").as_string(), "new text");
}

TEST_F(RoutesTest, EditRejectsEmptyAndUnknown) {
  const auto id = create("keep");
  auto empty = web.post_json("/edit/" + std::to_string(id), R"({"text": "   "})");
  EXPECT_EQ(empty.status, 400);
  EXPECT_TRUE(empty.json().at("error").is_string());
  EXPECT_EQ(web.post_json("/edit/424242", R"({"text": "x"})").status, 404);
  EXPECT_EQ(list()[0].at("text").as_string(), "keep");
}

TEST_F(RoutesTest, DeleteRemovesAndRedirects) {
  const auto id = create("delete me");
  create("keep me");
  auto response = web.request("POST", "/delete/" + std::to_string(id));
  EXPECT_EQ(response.status, 303);
  auto todos = list();
  ASSERT_EQ(todos.size(), 1u);
  EXPECT_EQ(todos[0].at("text").as_string(), "keep me");

  auto missing = web.request("POST", "/delete/" + std::to_string(id));
  EXPECT_EQ(missing.status, 303);
}

TEST_F(RoutesTest, ReorderSetsPositionsInListOrder) {
  const auto a = create("a");
  const auto b = create("b");
  const auto c = create("c");
  auto response = web.post_json("/reorder", json::serialize(json::object{{"order", json::array{c, a, b}}}));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json().at("status").as_string(), "ok");
  auto todos = list();
  ASSERT_EQ(todos.size(), 3u);
  EXPECT_EQ(todos[0].at("id").as_int64(), c);
  EXPECT_EQ(todos[1].at("id").as_int64(), a);
  EXPECT_EQ(todos[2].at("id").as_int64(), b);
  EXPECT_EQ(todos[0].at("position").as_int64(), 1);
  EXPECT_EQ(todos[2].at("position").as_int64(), 3);
}

TEST_F(RoutesTest, ReorderWithUnknownIdChangesNothing) {
  const auto a = create("a");
  const auto b = create("b");
  auto response = web.post_json("/reorder", json::serialize(json::object{{"order", json::array{b, 987654, a}}}));
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.json().at("error").as_string().find("987654"), std::string::npos) << response.body;
  auto todos = list();
  EXPECT_EQ(todos[0].at("id").as_int64(), a);
  EXPECT_EQ(todos[1].at("id").as_int64(), b);
}

TEST_F(RoutesTest, HealthzAnswersWithTimestamp) {
  auto response = web.get("/healthz");
  ASSERT_EQ(response.status, 200);
  auto body = response.json().as_object();
  EXPECT_EQ(body.at("status").as_string(), "healthy");
  const std::string timestamp(body.at("timestamp").as_string());
  EXPECT_EQ(timestamp.size() >= 20 && timestamp[10] == 'T', true) << timestamp;
  EXPECT_EQ(timestamp.back(), 'Z') << timestamp;
}

TEST_F(RoutesTest, ReadyzReportsDatabase) {
  auto response = web.get("/readyz");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json().at("checks").at("database").as_string(), "ok");
}

TEST_F(RoutesTest, ApiCrudRoundTrip) {
  auto created = web.post_json("/api/todos", R"({"text": "api item"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = created.json().at("id").as_int64();
  EXPECT_EQ(created.header("Location"), "/api/todos/" + std::to_string(id));
  EXPECT_EQ(created.json().at("created_at").as_string().back(), 'Z');

  auto fetched = web.get("/api/todos/" + std::to_string(id));
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.json().at("text").as_string(), "api item");

  auto patched = web.request("PATCH", "/api/todos/" + std::to_string(id), R"({"done": true, "text": "renamed"})",
                             {{"Content-Type", "application/json"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json().at("done").as_bool(), true);
  EXPECT_EQ(patched.json().at("text").as_string(), "renamed");

  auto deleted = web.request("DELETE", "/api/todos/" + std::to_string(id));
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(web.get("/api/todos/" + std::to_string(id)).status, 404);
  EXPECT_EQ(web.request("DELETE", "/api/todos/" + std::to_string(id)).status, 404);
}

TEST_F(RoutesTest, TextRoundTripsExactly) {
  const std::string text = "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 'quotes' \"double\" <tag> & back\\slash";
  const auto id = create(text);
  EXPECT_EQ(web.get("/api/todos/" + std::to_string(id)).json().at("text").as_string(), text);
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  EXPECT_EQ(session.column("SELECT text FROM todos WHERE id = " + std::to_string(id)).at(0), text);
}

TEST_F(RoutesTest, StaticFilesHaveTypesAndCaching) {
  auto css = web.get("/static/app.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.header("Content-Type").rfind("text/css", 0), 0u) << css.header("Content-Type");
  EXPECT_FALSE(css.header("Cache-Control").empty());
  const auto etag = css.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(web.request("GET", "/static/app.css", "", {{"If-None-Match", etag}}).status, 304);

  auto js = web.get("/static/app.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.header("Content-Type").find("javascript") != std::string::npos, true) << js.header("Content-Type");
  EXPECT_EQ(web.get("/static/missing.css").status, 404);
  EXPECT_EQ(web.get("/static/../CMakeLists.txt").status, 404);
  EXPECT_EQ(web.get("/static/%2e%2e/CMakeLists.txt").status, 404);
}

}  // namespace
}  // namespace todo::testing
