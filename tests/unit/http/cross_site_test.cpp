#include "http/cross_site.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace {

namespace beast_http = boost::beast::http;
using todo::http::cross_site_rejection;
using todo::http::request;

request make_request(beast_http::verb method, std::initializer_list<std::pair<std::string, std::string>> fields) {
  request req{method, "/add", 11};
  for (const auto& [name, value] : fields) req.insert(name, value);
  return req;
}

TEST(CrossSite, PostWithoutHeadersPasses) {
  EXPECT_FALSE(cross_site_rejection(make_request(beast_http::verb::post, {{"Host", "todo.example"}})));
  EXPECT_FALSE(cross_site_rejection(make_request(beast_http::verb::post, {})));
}

TEST(CrossSite, SafeMethodsAlwaysPass) {
  for (const auto method : {beast_http::verb::get, beast_http::verb::head, beast_http::verb::options}) {
    const auto req = make_request(method, {{"Host", "todo.example"},
                                           {"Sec-Fetch-Site", "cross-site"},
                                           {"Origin", "https://evil.example"}});
    EXPECT_FALSE(cross_site_rejection(req)) << beast_http::to_string(method);
  }
}

TEST(CrossSite, SameOriginFetchSitePasses) {
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Sec-Fetch-Site", "same-origin"}})));
}

TEST(CrossSite, NoneFetchSitePasses) {
  EXPECT_FALSE(cross_site_rejection(make_request(beast_http::verb::post, {{"Sec-Fetch-Site", "none"}})));
}

TEST(CrossSite, FetchSiteIsCaseInsensitive) {
  EXPECT_FALSE(cross_site_rejection(make_request(beast_http::verb::post, {{"Sec-Fetch-Site", " Same-Origin "}})));
}

TEST(CrossSite, FetchSiteDecidesOverOrigin) {
  // Behind a proxy that rewrites Host, Origin may differ while the browser
  // still reports a same-origin request.
  const auto req = make_request(beast_http::verb::post, {{"Host", "internal:5000"},
                                                         {"Origin", "https://todo.example"},
                                                         {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_FALSE(cross_site_rejection(req));
}

TEST(CrossSite, CrossSiteFetchSiteIsRejected) {
  const auto reason = cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Sec-Fetch-Site", "cross-site"}}));
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "cross-site request rejected: Sec-Fetch-Site is cross-site");
}

TEST(CrossSite, SameSiteFetchSiteIsRejected) {
  const auto reason = cross_site_rejection(make_request(beast_http::verb::post, {{"Sec-Fetch-Site", "same-site"}}));
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "cross-site request rejected: Sec-Fetch-Site is same-site");
}

TEST(CrossSite, UnknownFetchSiteIsRejected) {
  const auto reason = cross_site_rejection(make_request(beast_http::verb::post, {{"Sec-Fetch-Site", "bogus"}}));
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("'bogus' is not a known value"), std::string::npos) << *reason;
}

TEST(CrossSite, MatchingOriginPasses) {
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", "https://todo.example"}})));
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "localhost:5000"}, {"Origin", "http://localhost:5000"}})));
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "[::1]:5000"}, {"Origin", "http://[::1]:5000"}})));
}

TEST(CrossSite, HostComparisonIgnoresCase) {
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "Todo.Example"}, {"Origin", "https://todo.example"}})));
}

TEST(CrossSite, DefaultPortsAreEquivalent) {
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", "http://todo.example:80"}})));
  EXPECT_FALSE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example:443"}, {"Origin", "https://todo.example"}})));
}

TEST(CrossSite, DifferentPortIsRejected) {
  const auto reason = cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "localhost:5000"}, {"Origin", "http://localhost:8080"}}));
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason,
            "cross-site request rejected: Origin 'http://localhost:8080' does not match Host 'localhost:5000'");
}

TEST(CrossSite, DefaultPortOfOtherSchemeIsRejected) {
  EXPECT_TRUE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example:80"}, {"Origin", "https://todo.example"}})));
}

TEST(CrossSite, DifferentHostIsRejected) {
  const auto reason = cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", "https://evil.example"}}));
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("does not match Host"), std::string::npos) << *reason;
}

TEST(CrossSite, LookalikeHostIsRejected) {
  EXPECT_TRUE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", "https://todo.example.evil"}})));
  EXPECT_TRUE(cross_site_rejection(
      make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", "https://eviltodo.example"}})));
}

TEST(CrossSite, NullOriginIsRejected) {
  const auto reason =
      cross_site_rejection(make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", "null"}}));
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "cross-site request rejected: Origin is null");
}

TEST(CrossSite, MalformedOriginIsRejected) {
  for (const std::string origin : {"todo.example", "://todo.example", "https://", "https://todo.example/path",
                                   "https://user@todo.example", "https://[::1", "https://todo.example?x"}) {
    const auto reason =
        cross_site_rejection(make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", origin}}));
    EXPECT_TRUE(reason) << origin;
  }
}

TEST(CrossSite, OriginWithoutHostIsRejected) {
  const auto reason = cross_site_rejection(make_request(beast_http::verb::post, {{"Origin", "https://todo.example"}}));
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, "cross-site request rejected: Origin is present but the Host header is missing");
}

TEST(CrossSite, EveryWriteMethodIsChecked) {
  for (const auto method : {beast_http::verb::post, beast_http::verb::put, beast_http::verb::patch,
                            beast_http::verb::delete_}) {
    const auto req = make_request(method, {{"Host", "todo.example"}, {"Sec-Fetch-Site", "cross-site"}});
    EXPECT_TRUE(cross_site_rejection(req)) << beast_http::to_string(method);
  }
}

TEST(CrossSite, LongOriginIsQuotedShort) {
  const std::string origin = "https://" + std::string(5000, 'a') + ".example";
  const auto reason =
      cross_site_rejection(make_request(beast_http::verb::post, {{"Host", "todo.example"}, {"Origin", origin}}));
  ASSERT_TRUE(reason);
  EXPECT_LT(reason->size(), 300u);
}

}  // namespace
