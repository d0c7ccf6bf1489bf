// Client mistakes and hostile input: each gets a 4xx with a clear message,
// never a 500, a crash or a half-applied change.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace todo::testing {
namespace {

namespace json = boost::json;

class InputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reset_todos();
    auto response = web.post_json("/api/todos", R"({"text": "original"})");
    ASSERT_EQ(response.status, 201) << response.body;
    id = std::to_string(response.json().at("id").as_int64());
  }

  void TearDown() override {
    // Whatever a test sent, the service must still answer and the row must be intact.
    EXPECT_EQ(web.get("/healthz").status, 200);
  }

  void expect_json_error(const http_result& response, int status) {
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(response.header("Content-Type").rfind("application/json", 0), 0u) << response.header("Content-Type");
    auto body = response.json();
    ASSERT_TRUE(body.is_object()) << response.body;
    EXPECT_TRUE(body.as_object().contains("error")) << response.body;
    EXPECT_EQ(body.at("request_id").as_string(), response.header("X-Request-ID"));
  }

  std::string stored_text() {
    sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
    return session.column("SELECT text FROM todos WHERE id = " + id).at(0);
  }

  web_process& web = shared_web();
  std::string id;
};

TEST_F(InputTest, BadIdsAreRejected) {
  for (const std::string bad : {"abc", "-1", "0", "1.5", "1e3", "99999999999999999999", "9223372036854775808",
                                "%00", "1%20"}) {
    auto toggle = web.request("POST", "/toggle/" + bad);
    EXPECT_TRUE(toggle.status == 400 || toggle.status == 404) << bad << " gave " << toggle.status;
    expect_json_error(toggle, toggle.status);
    auto api = web.get("/api/todos/" + bad);
    EXPECT_TRUE(api.status == 400 || api.status == 404) << bad << " gave " << api.status;
  }
  EXPECT_EQ(web.request("POST", "/toggle/9223372036854775807").status, 404);
}

TEST_F(InputTest, JsonRoutesNeedJsonContentType) {
  expect_json_error(web.request("POST", "/edit/" + id, R"({"text":"x"})"), 415);
  expect_json_error(web.request("POST", "/edit/" + id, R"({"text":"x"})", {{"Content-Type", "text/plain"}}), 415);
  expect_json_error(web.request("POST", "/reorder", R"({"order":[]})", {{"Content-Type", "text/xml"}}), 415);
  auto charset = web.request("POST", "/edit/" + id, R"({"text":"with charset"})",
                             {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(charset.status, 200) << charset.body;
}

TEST_F(InputTest, MalformedJsonIs400) {
  for (const std::string body : {"", "{", "{\"text\": }", "[1,2", "nul", "{\"text\":\"x\"} trailing", "\xff\xfe"}) {
    expect_json_error(web.post_json("/edit/" + id, body), 400);
  }
  EXPECT_EQ(stored_text(), "original");
}

TEST_F(InputTest, WrongJsonShapesAre400) {
  for (const std::string body : {"[]", "\"text\"", "{}", "{\"text\": 5}", "{\"text\": null}", "{\"text\": [\"a\"]}",
                                 "{\"text\": {\"a\": 1}}", "{\"TEXT\": \"x\"}"}) {
    expect_json_error(web.post_json("/edit/" + id, body), 400);
  }
  for (const std::string body : {"{}", "{\"order\": 5}", "{\"order\": \"1,2\"}", "{\"order\": [\"1\"]}",
                                 "{\"order\": [1.5]}", "{\"order\": [-1]}", "{\"order\": [null]}",
                                 "{\"order\": [1, 1]}", "{\"order\": [true]}"}) {
    expect_json_error(web.post_json("/reorder", body), 400);
  }
  expect_json_error(web.post_json("/api/todos", R"({"text": true})"), 400);
  expect_json_error(web.request("PATCH", "/api/todos/" + id, R"({"done": "yes"})", {{"Content-Type", "application/json"}}), 400);
  expect_json_error(web.request("PATCH", "/api/todos/" + id, R"({})", {{"Content-Type", "application/json"}}), 400);
  EXPECT_EQ(stored_text(), "original");
}

TEST_F(InputTest, DeepJsonNestingIsRejected) {
  const std::string bomb = std::string(10000, '[') + std::string(10000, ']');
  expect_json_error(web.post_json("/reorder", bomb), 400);
}

TEST_F(InputTest, TextLimitCountsCharacters) {
  std::string accented;
  for (int i = 0; i < 500; ++i) accented += "\xC3\xA9";  // 500 characters, 1000 bytes
  auto ok = web.post_json("/edit/" + id, json::serialize(json::object{{"text", accented}}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(stored_text(), accented);

  auto too_long = web.post_json("/edit/" + id, json::serialize(json::object{{"text", accented + "x"}}));
  expect_json_error(too_long, 400);
  auto form = web.post_form("/add", "task=" + std::string(501, 'a'));
  EXPECT_EQ(form.status, 400);
  EXPECT_EQ(stored_text(), accented);
}

TEST_F(InputTest, InvalidUtf8AndControlCharactersAreRejected) {
  expect_json_error(web.post_json("/edit/" + id, "{\"text\": \"bad \xff byte\"}"), 400);
  expect_json_error(web.post_json("/edit/" + id, R"({"text": "bell \u0007"})"), 400);
  expect_json_error(web.post_json("/edit/" + id, R"({"text": "line\nbreak"})"), 400);
  expect_json_error(web.post_json("/edit/" + id, R"({"text": "nul \u0000 byte"})"), 400);
  EXPECT_EQ(web.post_form("/add", "task=bad%FFbyte").status, 400);
  EXPECT_EQ(web.post_form("/add", "task=esc%1Bchar").status, 400);
  EXPECT_EQ(stored_text(), "original");
}

TEST_F(InputTest, OversizedBodyIs413) {
  auto response = web.post_json("/reorder", "{\"order\": [" + std::string(200 * 1024, ' ') + "]}");
  EXPECT_EQ(response.status, 413);
}

TEST_F(InputTest, UnknownRouteIs404) {
  expect_json_error(web.get("/no/such/route"), 404);
  expect_json_error(web.request("POST", "/toggle/"), 404);
}

TEST_F(InputTest, WrongMethodIs405WithAllow) {
  auto response = web.get("/add");
  expect_json_error(response, 405);
  EXPECT_NE(response.header("Allow").find("POST"), std::string::npos) << response.header("Allow");

  auto api = web.request("PUT", "/api/todos/" + id);
  EXPECT_EQ(api.status, 405);
  const auto allow = api.header("Allow");
  EXPECT_NE(allow.find("GET"), std::string::npos) << allow;
  EXPECT_NE(allow.find("PATCH"), std::string::npos) << allow;
  EXPECT_NE(allow.find("DELETE"), std::string::npos) << allow;

  auto odd = web.request("BREW", "/");
  EXPECT_TRUE(odd.status == 405 || odd.status == 501 || odd.status == 400) << odd.status;
}

TEST_F(InputTest, CrossSiteWritesAreRejected) {
  auto cross = web.post_form("/add", "task=evil", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  auto fetch_site = web.request("POST", "/toggle/" + id, "", {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(fetch_site.status, 403);
  auto null_origin = web.request("POST", "/delete/" + id, "", {{"Origin", "null"}});
  EXPECT_EQ(null_origin.status, 403);

  const std::string own_origin = "http://127.0.0.1:" + std::to_string(web.port());
  auto same = web.post_form("/add", "task=fine", {{"Origin", own_origin}, {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(same.status, 303);

  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  EXPECT_EQ(session.column("SELECT count(*) FROM todos WHERE text = 'evil'").at(0), "0");
  EXPECT_EQ(session.column("SELECT count(*) FROM todos WHERE id = " + id).at(0), "1");
  EXPECT_EQ(stored_text(), "original");
}

TEST_F(InputTest, RequestIdIsEchoedOrReplaced) {
  auto kept = web.request("GET", "/healthz", "", {{"X-Request-ID", "abc-123_x.y"}});
  EXPECT_EQ(kept.header("X-Request-ID"), "abc-123_x.y");

  for (const std::string bad : {std::string(65, 'a'), std::string("has space"), std::string("quote\"s"),
                                std::string("<script>")}) {
    auto replaced = web.request("GET", "/healthz", "", {{"X-Request-ID", bad}});
    const auto id_header = replaced.header("X-Request-ID");
    EXPECT_NE(id_header, bad);
    EXPECT_EQ(id_header.size(), 36u) << id_header;
  }
  EXPECT_EQ(web.get("/healthz").header("X-Request-ID").size(), 36u);
}

TEST_F(InputTest, GarbageRequestGets400NotACrash) {
  const auto reply = web.raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(reply.find(" 400 "), std::string::npos) << reply;
  const auto huge_header = web.raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_TRUE(huge_header.find(" 431 ") != std::string::npos || huge_header.find(" 400 ") != std::string::npos)
      << huge_header.substr(0, 200);
}

}  // namespace
}  // namespace todo::testing
