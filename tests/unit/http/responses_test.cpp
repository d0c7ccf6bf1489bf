#include "http/responses.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

namespace beast_http = boost::beast::http;
using todo::http::request;
using todo::http::request_context;

request make_request(std::initializer_list<std::pair<std::string, std::string>> fields = {}, unsigned version = 11) {
  request req{beast_http::verb::post, "/add", version};
  for (const auto& [name, value] : fields) req.insert(name, value);
  return req;
}

request_context make_context() {
  request_context context;
  context.request_id = "req-1";
  return context;
}

TEST(Responses, JsonResponseSerializesBody) {
  const auto res = todo::http::json_response(make_request(), beast_http::status::created,
                                             boost::json::object{{"id", 5}, {"title", "milk"}});
  EXPECT_EQ(res.result(), beast_http::status::created);
  EXPECT_EQ(res[beast_http::field::content_type], "application/json");
  EXPECT_EQ(boost::json::parse(res.body()), (boost::json::object{{"id", 5}, {"title", "milk"}}));
  EXPECT_EQ(res[beast_http::field::content_length], std::to_string(res.body().size()));
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res.version(), 11u);
}

TEST(Responses, KeepAliveFollowsRequest) {
  auto closing = make_request({{"Connection", "close"}});
  EXPECT_FALSE(todo::http::json_response(closing, beast_http::status::ok, nullptr).keep_alive());

  auto old_client = make_request({}, 10);
  const auto res = todo::http::json_response(old_client, beast_http::status::ok, nullptr);
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
}

TEST(Responses, JsonErrorCarriesRequestId) {
  const auto res =
      todo::http::json_error(make_request(), make_context(), beast_http::status::not_found, "todo \"3\" not found");
  EXPECT_EQ(res.result(), beast_http::status::not_found);
  EXPECT_EQ(boost::json::parse(res.body()),
            (boost::json::object{{"error", "todo \"3\" not found"}, {"request_id", "req-1"}}));
}

TEST(Responses, RedirectIsSeeOther) {
  const auto res = todo::http::redirect(make_request(), "/?page=2");
  EXPECT_EQ(res.result(), beast_http::status::see_other);
  EXPECT_EQ(res[beast_http::field::location], "/?page=2");
  EXPECT_EQ(res[beast_http::field::content_length], "0");
  EXPECT_TRUE(res.body().empty());
}

TEST(Responses, RedirectRejectsLineBreaks) {
  EXPECT_THROW(todo::http::redirect(make_request(), "/\r\nSet-Cookie: a=b"), std::invalid_argument);
  EXPECT_THROW(todo::http::redirect(make_request(), "/\n"), std::invalid_argument);
  EXPECT_THROW(todo::http::redirect(make_request(), std::string("/\0", 2)), std::invalid_argument);
}

TEST(Responses, HtmlResponseHasUtf8Type) {
  const auto res = todo::http::html_response(make_request(), beast_http::status::ok, "<p>hi</p>");
  EXPECT_EQ(res[beast_http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(res.body(), "<p>hi</p>");
  EXPECT_EQ(res[beast_http::field::content_length], "9");
}

TEST(Responses, FormPostWantsHtml) {
  EXPECT_TRUE(todo::http::wants_html(make_request({{"Content-Type", "application/x-www-form-urlencoded"}})));
  EXPECT_TRUE(todo::http::wants_html(make_request({{"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}})));
  EXPECT_TRUE(todo::http::wants_html(make_request({{"Content-Type", "multipart/form-data; boundary=x"}})));
}

TEST(Responses, JsonPostWantsJson) {
  EXPECT_FALSE(todo::http::wants_html(make_request({{"Content-Type", "application/json"}})));
  EXPECT_FALSE(todo::http::wants_html(make_request()));
}

TEST(Responses, AcceptDecidesWithoutForm) {
  const auto wants = [](const std::string& accept) {
    return todo::http::wants_html(make_request({{"Accept", accept}}));
  };
  EXPECT_TRUE(wants("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
  EXPECT_TRUE(wants("text/html"));
  EXPECT_TRUE(wants("text/*, application/json;q=0.5"));
  EXPECT_FALSE(wants("application/json"));
  EXPECT_FALSE(wants("*/*"));
  EXPECT_FALSE(wants("text/html;q=0.5, application/json"));
  EXPECT_FALSE(wants("text/html;q=0, */*"));
  EXPECT_FALSE(wants("text/html;q=abc"));
  EXPECT_FALSE(wants("garbage"));
  EXPECT_FALSE(wants(",,,;;;"));
}

TEST(Responses, ErrorResponseIsJsonForApiClients) {
  const auto res = todo::http::error_response(make_request({{"Accept", "application/json"}}), make_context(),
                                              beast_http::status::bad_request, "title is required");
  EXPECT_EQ(res[beast_http::field::content_type], "application/json");
  EXPECT_EQ(boost::json::parse(res.body()), (boost::json::object{{"error", "title is required"}, {"request_id", "req-1"}}));
}

TEST(Responses, ErrorResponseIsEscapedHtmlForForms) {
  const auto res =
      todo::http::error_response(make_request({{"Content-Type", "application/x-www-form-urlencoded"}}), make_context(),
                                 beast_http::status::bad_request, "<script>alert('x')</script> & \"more\"");
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
  EXPECT_EQ(res[beast_http::field::content_type], "text/html; charset=utf-8");
  const auto& page = res.body();
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"), std::string::npos)
      << page;
  EXPECT_NE(page.find("<a href=\"/\">"), std::string::npos);
  EXPECT_NE(page.find("400 Bad Request"), std::string::npos);
  EXPECT_NE(page.find("req-1"), std::string::npos);
}

TEST(Responses, UnavailableHasRetryAfter) {
  const auto res = todo::http::unavailable_response(make_request(), make_context(), "database unavailable");
  EXPECT_EQ(res.result(), beast_http::status::service_unavailable);
  EXPECT_EQ(res[beast_http::field::retry_after], "1");
  EXPECT_EQ(boost::json::parse(res.body()),
            (boost::json::object{{"error", "database unavailable"}, {"request_id", "req-1"}}));

  EXPECT_EQ(todo::http::unavailable_response(make_request(), make_context(), "busy", 30)[beast_http::field::retry_after],
            "30");
  EXPECT_EQ(todo::http::unavailable_response(make_request(), make_context(), "busy", -5)[beast_http::field::retry_after],
            "0");
}

TEST(Responses, UnavailableIsHtmlForForms) {
  const auto res = todo::http::unavailable_response(
      make_request({{"Content-Type", "application/x-www-form-urlencoded"}}), make_context(), "try again");
  EXPECT_EQ(res[beast_http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(res[beast_http::field::retry_after], "1");
  EXPECT_NE(res.body().find("503 Service Unavailable"), std::string::npos);
}

}  // namespace
