#include "http/static_files.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace {

namespace beast_http = boost::beast::http;
namespace fs = std::filesystem;
using todo::http::request;

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream output(path, std::ios::binary);
  output << content;
}

// A folder of assets next to a secret that no request may reach.
class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "todo-static-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    root_ = base_ / "static";

    write_file(root_ / "app.css", "body { color: red; }");
    write_file(root_ / "app.js", "console.log('hi');");
    write_file(root_ / "icons" / "logo.svg", "<svg/>");
    write_file(root_ / "icons" / "favicon.ico", std::string("\0\0\1\0", 4));
    write_file(root_ / "img" / "pixel.png", std::string("\x89PNG\r\n\x1a\n\0", 9));
    write_file(root_ / "index.html", "<!doctype html>");
    write_file(root_ / "notes.txt", "plain");
    write_file(root_ / "data.json", "{}");
    write_file(root_ / "font.woff2", "wOF2");
    write_file(root_ / "app.js.map", "{\"version\":3}");
    write_file(root_ / "UPPER.CSS", "p{}");
    write_file(root_ / "blob.bin", "raw");
    write_file(base_ / "secret.txt", "top secret");
    fs::create_symlink(base_ / "secret.txt", root_ / "linked-secret.txt");
    fs::create_directories(base_ / "outside");
    write_file(base_ / "outside" / "hidden.css", "hidden");
    fs::create_directory_symlink(base_ / "outside", root_ / "linked-dir");
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  static request get(const std::string& if_none_match = {}) {
    request req{beast_http::verb::get, "/static/x", 11};
    if (!if_none_match.empty()) req.set(beast_http::field::if_none_match, if_none_match);
    return req;
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(StaticFiles, LoadsRegularFilesOnly) {
  const todo::http::static_files files(root_);
  EXPECT_EQ(files.size(), 12u);
}

TEST_F(StaticFiles, MissingFolderThrows) {
  EXPECT_THROW(todo::http::static_files(base_ / "missing"), std::runtime_error);
  EXPECT_THROW(todo::http::static_files(root_ / "app.css"), std::runtime_error);
}

TEST_F(StaticFiles, ServesContentWithHeaders) {
  const todo::http::static_files files(root_);
  const auto res = files.serve(get(), "app.css");
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res.body(), "body { color: red; }");
  EXPECT_EQ(res[beast_http::field::content_type], "text/css; charset=utf-8");
  EXPECT_EQ(res[beast_http::field::cache_control], "public, max-age=3600");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res[beast_http::field::content_length], "20");
}

TEST_F(StaticFiles, ServesNestedFiles) {
  const todo::http::static_files files(root_);
  const auto res = files.serve(get(), "img/pixel.png");
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res.body(), std::string("\x89PNG\r\n\x1a\n\0", 9));
}

TEST_F(StaticFiles, ContentTypesByExtension) {
  const todo::http::static_files files(root_);
  const std::pair<const char*, const char*> cases[] = {
      {"app.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"icons/logo.svg", "image/svg+xml; charset=utf-8"},
      {"icons/favicon.ico", "image/x-icon"},
      {"img/pixel.png", "image/png"},
      {"index.html", "text/html; charset=utf-8"},
      {"notes.txt", "text/plain; charset=utf-8"},
      {"data.json", "application/json"},
      {"font.woff2", "font/woff2"},
      {"app.js.map", "application/json"},
      {"UPPER.CSS", "text/css; charset=utf-8"},
      {"blob.bin", "application/octet-stream"},
  };
  for (const auto& [name, type] : cases) {
    EXPECT_EQ(files.serve(get(), name)[beast_http::field::content_type], type) << name;
  }
}

TEST_F(StaticFiles, EtagIsStrongAndContentBased) {
  const todo::http::static_files files(root_);
  const auto etag = std::string(files.serve(get(), "app.css")[beast_http::field::etag]);
  ASSERT_GE(etag.size(), 3u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_NE(etag.substr(0, 2), "W/");
  EXPECT_NE(etag, files.serve(get(), "app.js")[beast_http::field::etag]);

  // Same content in another folder gives the same tag, so replicas agree.
  const auto copy = base_ / "copy";
  write_file(copy / "app.css", "body { color: red; }");
  const todo::http::static_files copied(copy);
  EXPECT_EQ(copied.serve(get(), "app.css")[beast_http::field::etag], etag);
}

TEST_F(StaticFiles, MatchingIfNoneMatchGives304) {
  const todo::http::static_files files(root_);
  const auto etag = std::string(files.serve(get(), "app.css")[beast_http::field::etag]);

  for (const auto& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const auto res = files.serve(get(header), "app.css");
    EXPECT_EQ(res.result(), beast_http::status::not_modified) << header;
    EXPECT_TRUE(res.body().empty());
    EXPECT_EQ(res[beast_http::field::etag], etag);
    EXPECT_EQ(res[beast_http::field::cache_control], "public, max-age=3600");
  }
}

TEST_F(StaticFiles, OtherIfNoneMatchGives200) {
  const todo::http::static_files files(root_);
  const auto res = files.serve(get("\"stale\""), "app.css");
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res.body(), "body { color: red; }");
}

TEST_F(StaticFiles, HeadHasLengthWithoutBody) {
  const todo::http::static_files files(root_);
  request head{beast_http::verb::head, "/static/app.js", 11};
  const auto res = files.serve(head, "app.js");
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res[beast_http::field::content_length], "18");
  EXPECT_EQ(res[beast_http::field::content_type], "text/javascript; charset=utf-8");
}

TEST_F(StaticFiles, UnknownFileIs404) {
  const todo::http::static_files files(root_);
  const auto res = files.serve(get(), "missing.css");
  EXPECT_EQ(res.result(), beast_http::status::not_found);
  EXPECT_EQ(res.body(), R"({"error":"not found"})");
  EXPECT_EQ(res[beast_http::field::content_type], "application/json");
}

TEST_F(StaticFiles, TraversalAttemptsAre404) {
  const todo::http::static_files files(root_);
  const std::string attempts[] = {
      "../secret.txt",
      "icons/../../secret.txt",
      "..",
      "icons/..",
      "./app.css",
      "icons/./logo.svg",
      "%2e%2e/secret.txt",
      "%2E%2E%2Fsecret.txt",
      "..%2fsecret.txt",
      "%252e%252e/secret.txt",
      "..\\secret.txt",
      "icons\\logo.svg",
      "/etc/passwd",
      "/app.css",
      "",
      "icons//logo.svg",
      std::string("app.css\0.png", 12),
      std::string("\0", 1),
      "linked-secret.txt",
      "linked-dir/hidden.css",
      std::string(10000, '.'),
  };
  for (const auto& attempt : attempts) {
    const auto res = files.serve(get(), attempt);
    EXPECT_EQ(res.result(), beast_http::status::not_found) << attempt;
    EXPECT_EQ(res.body().find("secret"), std::string::npos) << attempt;
  }
}

}  // namespace
