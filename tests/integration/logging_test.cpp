// The JSON log stream of todo-web: one object per line, the access line's
// fields, request ids on every line of a request, and no secrets.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace todo::testing {
namespace {

using namespace std::chrono_literals;

// Returns the access line of the request whose X-Request-ID is `request_id`.
boost::json::object access_line(const web_process& web, const std::string& request_id) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (const auto& line : web.logs_where("request_id", request_id)) {
      if (line.at("logger").as_string() == "todo.access") return line;
    }
    std::this_thread::sleep_for(20ms);  // the writer thread flushes asynchronously
  }
  ADD_FAILURE() << "no access line for request " << request_id;
  return {};
}

TEST(Logging, EveryLineIsJson) {
  web_process& web = shared_web();
  web.get("/healthz");
  web.post_json("/edit/1", "{bad json");
  web.raw("NOT HTTP\r\n\r\n");
  ASSERT_TRUE(web.wait_for_log("todo.access", 5s));
  for (const auto& line : web.log_lines()) {
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(value.is_object()) << line;
    const auto& object = value.as_object();
    EXPECT_TRUE(object.contains("timestamp")) << line;
    EXPECT_TRUE(object.contains("level")) << line;
    EXPECT_TRUE(object.contains("logger")) << line;
    EXPECT_TRUE(object.contains("message")) << line;
  }
}

TEST(Logging, AccessLineHasRequestFields) {
  web_process& web = shared_web();
  auto response = web.request("GET", "/api/todos?x=1", "", {{"User-Agent", "tester/1.0"}, {"X-Request-ID", "log-test-1"}});
  auto line = access_line(web, "log-test-1");
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.at("level").as_string(), "INFO");
  EXPECT_EQ(line.at("http.method").as_string(), "GET");
  EXPECT_EQ(line.at("http.path").as_string(), "/api/todos");
  EXPECT_EQ(line.at("status_code").as_int64(), response.status);
  EXPECT_GE(line.at("duration_ms").to_number<double>(), 0.0);
  EXPECT_EQ(line.at("client_ip").as_string(), "127.0.0.1");
  EXPECT_EQ(line.at("user_agent").as_string(), "tester/1.0");
}

TEST(Logging, HostileHeadersCannotBreakLines) {
  web_process& web = shared_web();
  const auto before = web.log_lines().size();
  // Bytes 0x80-0xFF are legal in HTTP header values and are not UTF-8 here.
  web.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a\"}\\\xff{\"forged\":1\r\nX-Request-ID: hostile-ua\r\n"
          "Connection: close\r\n\r\n");
  auto line = access_line(web, "hostile-ua");
  ASSERT_FALSE(line.empty());
  EXPECT_FALSE(line.contains("forged"));
  EXPECT_EQ(line.at("user_agent").as_string(), "a\"}\\\xEF\xBF\xBD{\"forged\":1");

  // A control byte in a header value is not HTTP: the server answers 400.
  const auto reply = web.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a\x01b\r\n\r\n");
  EXPECT_NE(reply.find(" 400 "), std::string::npos) << reply;
  EXPECT_GT(web.log_lines().size(), before);
}

TEST(Logging, WarningCarriesRequestId) {
  web_process& web = shared_web();
  auto response = web.post_form("/add", "task=", {{"X-Request-ID", "empty-task-warning"}});
  EXPECT_EQ(response.status, 303);
  access_line(web, "empty-task-warning");
  bool found_warning = false;
  for (const auto& line : web.logs_where("request_id", "empty-task-warning")) {
    if (line.at("level").as_string() == "WARNING") found_warning = true;
  }
  EXPECT_TRUE(found_warning);
}

TEST(Logging, ForwardedForTrustedOnlyFromProxies) {
  web_process& web = shared_web();
  web.request("GET", "/healthz", "",
              {{"X-Forwarded-For", "198.51.100.1, 203.0.113.9"}, {"X-Request-ID", "xff-trusted"}});
  EXPECT_EQ(access_line(web, "xff-trusted").at("client_ip").as_string(), "203.0.113.9");

  web_process untrusting(web_process::environment{{"TRUSTED_PROXIES", "10.0.0.0/8"}});
  untrusting.request("GET", "/healthz", "", {{"X-Forwarded-For", "203.0.113.9"}, {"X-Request-ID", "xff-spoof"}});
  EXPECT_EQ(access_line(untrusting, "xff-spoof").at("client_ip").as_string(), "127.0.0.1");
}

TEST(Logging, PasswordIsNeverLogged) {
  std::string url = required_env("TODO_TEST_APP_DATABASE_URL");
  url.replace(url.find("postgres@"), 9, "postgres:Sup3rSecretPw@");  // the test cluster trusts loopback
  web_process web(web_process::environment{{"DATABASE_URL", url}});
  EXPECT_EQ(web.get("/readyz").status, 200);
  web.stop(SIGTERM);
  bool saw_start = false;
  for (const auto& line : web.log_lines()) {
    EXPECT_EQ(line.find("Sup3rSecretPw"), std::string::npos) << line;
    if (line.find("starting todo-web") != std::string::npos) saw_start = true;
  }
  EXPECT_TRUE(saw_start);
}

TEST(Logging, InvalidConfigNamesVariable) {
  const std::string output = required_env("TODO_TEST_OUTPUT") + "/bad-config.txt";
  const std::string command = "PORT=eighty DATABASE_URL=postgresql://x@127.0.0.1:1/x " + std::string(TODO_WEB_BINARY) +
                              " >" + output + " 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream file(output);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_NE(text.str().find("PORT"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("eighty"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace todo::testing
