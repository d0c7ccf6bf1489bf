// End-to-end tests through Caddy against the stack that scripts/run.sh
// started with two web replicas and two workers (scripts/test.sh does this
// in its stack stage and sets TODO_TEST_STACK_DIR to the stack's folder).
// The tests read the stack's ports, pid files and log files from that
// folder, and restart what they stop with scripts/run.sh up.

#include "../integration/harness.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace todo::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using steady_clock = std::chrono::steady_clock;

const std::vector<std::string> web_replicas{"web-1", "web-2"};
const std::vector<std::string> workers{"worker-1", "worker-2"};
const std::string security_header_names[] = {"content-security-policy", "x-content-type-options", "referrer-policy",
                                             "x-frame-options"};

fs::path stack_dir() { return required_env("TODO_TEST_STACK_DIR"); }

// The ports scripts/run.sh recorded in run/ports, one "process port" a line.
unsigned short port_of(const std::string& process) {
  std::ifstream ports(stack_dir() / "run" / "ports");
  std::string name;
  unsigned port = 0;
  while (ports >> name >> port) {
    if (name == process) return static_cast<unsigned short>(port);
  }
  ADD_FAILURE() << "no port recorded for " << process << " in " << (stack_dir() / "run" / "ports");
  return 0;
}

pid_t pid_of(const std::string& process) {
  std::ifstream file(stack_dir() / "run" / (process + ".pid"));
  pid_t pid = 0;
  file >> pid;
  return pid;
}

bool process_exists(pid_t pid) {
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text;
  std::getline(cmdline, text);
  return !text.empty();  // a zombie has an empty command line
}

http_result via_caddy(const std::string& method, const std::string& target, const std::string& body = {},
                      const std::map<std::string, std::string>& headers = {}) {
  return http_request(port_of("caddy"), method, target, body, headers);
}

http_result json_via_caddy(const std::string& method, const std::string& target, const std::string& body,
                           std::map<std::string, std::string> headers = {}) {
  headers.emplace("Content-Type", "application/json");
  return via_caddy(method, target, body, headers);
}

std::string database_url() { return "postgresql://postgres@127.0.0.1:" + std::to_string(port_of("postgres")) + "/todo"; }

std::string scalar(const std::string& sql) {
  sql_session session(database_url());
  auto values = session.column(sql);
  return values.empty() ? std::string() : values.front();
}

// The JSON objects of a process's log file (logs/<process>.log).
std::vector<json::object> log_objects(const std::string& process) {
  std::ifstream file(stack_dir() / "logs" / (process + ".log"));
  std::vector<json::object> objects;
  std::string line;
  while (std::getline(file, line)) {
    boost::system::error_code ec;
    auto value = json::parse(line, ec);
    if (!ec && value.is_object()) objects.push_back(std::move(value.as_object()));
  }
  return objects;
}

std::string field(const json::object& object, const char* name) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::size_t count_logs(const std::string& process, const std::string& message, const std::string& key,
                       const std::string& value) {
  const auto objects = log_objects(process);
  return static_cast<std::size_t>(std::count_if(objects.begin(), objects.end(), [&](const json::object& object) {
    return field(object, "message") == message && field(object, key.c_str()) == value;
  }));
}

// A request id that no earlier run of these tests used: the stack's log
// files are appended to across runs.
std::string unique_id(const std::string& name) {
  static const std::string run = std::to_string(::getpid()) + "-" +
                                 std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  return name + "-" + run;
}

// Waits until `condition` holds, checking every 50 ms, for at most `timeout`.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);  // polling log files and the database
  }
  return true;
}

// The web replica whose access log has a line for `request_id`, or "" when
// none has one within `timeout` (the log writer flushes asynchronously).
std::string replica_that_served(const std::string& request_id, std::chrono::milliseconds timeout = 5s) {
  std::string found;
  wait_until(
      [&] {
        for (const auto& replica : web_replicas) {
          const auto objects = log_objects(replica);
          for (const auto& object : objects) {
            if (field(object, "logger") == "todo.access" && field(object, "request_id") == request_id) {
              found = replica;
              return true;
            }
          }
        }
        return false;
      },
      timeout);
  return found;
}

// Runs scripts/run.sh with the stack's environment, which scripts/test.sh
// exported (TODO_DATA_DIR, replica counts, TODO_SKIP_BUILD=1).
int run_script(const std::string& arguments, const std::string& output_name) {
  const std::string output = required_env("TODO_TEST_OUTPUT") + "/" + output_name;
  const std::string command = std::string(TODO_SOURCE_DIR) + "/scripts/run.sh " + arguments + " >" + output + " 2>&1";
  return std::system(command.c_str());
}

std::string read_text_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Sends requests through Caddy until `replica` logs one, so that it is
// back in Caddy's rotation. Returns false after `timeout`.
bool wait_until_replica_serves(const std::string& replica, std::chrono::milliseconds timeout) {
  int probe = 0;
  return wait_until(
      [&] {
        const std::string id = unique_id("probe-" + replica + "-" + std::to_string(++probe));
        via_caddy("GET", "/healthz", {}, {{"X-Request-ID", id}});
        return replica_that_served(id, 1s) == replica;
      },
      timeout);
}

// The state of an export job, polled through Caddy until it is ready.
json::object wait_until_export_ready(const std::string& id, std::chrono::seconds timeout = 60s) {
  json::object status;
  wait_until(
      [&] {
        auto response = via_caddy("GET", "/tasks/" + id);
        if (response.status != 200) return false;
        status = response.json().as_object();
        return status.at("ready").as_bool();
      },
      timeout);
  return status;
}

std::string start_export(const std::map<std::string, std::string>& headers = {}) {
  auto response = json_via_caddy("POST", "/export", "{}", headers);
  EXPECT_EQ(response.status, 202) << response.body;
  if (response.status != 202) return {};
  return std::string(response.json().at("task_id").as_string());
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// ---- routes ------------------------------------------------------------------------------

TEST(StackRoutes, PagesAndFormsThroughCaddy) {
  auto page = via_caddy("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.header("Cache-Control"), "no-store");
  EXPECT_NE(page.body.find("<title>Todo</title>"), std::string::npos);
  EXPECT_FALSE(page.header("X-Request-ID").empty());

  auto added = via_caddy("POST", "/add", "task=stack+form+task", {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(added.status, 303);
  EXPECT_EQ(added.header("Location"), "/");
  const auto id = scalar("SELECT id FROM todos WHERE text = 'stack form task'");
  ASSERT_FALSE(id.empty());

  auto toggled = via_caddy("POST", "/toggle/" + id);
  EXPECT_EQ(toggled.status, 200);
  EXPECT_EQ(json::serialize(toggled.json()), R"({"id":)" + id + R"(,"done":true})");

  auto edited = json_via_caddy("POST", "/edit/" + id, R"({"text":"stack form task, edited"})");
  EXPECT_EQ(edited.status, 200);
  EXPECT_EQ(edited.json().at("text").as_string(), "stack form task, edited");
  EXPECT_EQ(scalar("SELECT text FROM todos WHERE id = " + id), "stack form task, edited");
  EXPECT_EQ(scalar("SELECT done FROM todos WHERE id = " + id), "t");

  auto reordered = json_via_caddy("POST", "/reorder", R"({"order":[)" + id + "]}");
  EXPECT_EQ(reordered.status, 200);
  EXPECT_EQ(json::serialize(reordered.json()), R"({"status":"ok"})");

  auto deleted = via_caddy("POST", "/delete/" + id);
  EXPECT_EQ(deleted.status, 303);
  EXPECT_EQ(scalar("SELECT count(*) FROM todos WHERE id = " + id), "0");
}

TEST(StackRoutes, JsonApiThroughCaddy) {
  auto created = json_via_caddy("POST", "/api/todos", R"({"text":"stack api task"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto id = std::to_string(created.json().at("id").as_int64());
  EXPECT_EQ(created.header("Location"), "/api/todos/" + id);

  auto listed = via_caddy("GET", "/api/todos");
  EXPECT_EQ(listed.status, 200);
  EXPECT_NE(listed.body.find("\"stack api task\""), std::string::npos);

  auto fetched = via_caddy("GET", "/api/todos/" + id);
  EXPECT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.json().at("text").as_string(), "stack api task");

  auto patched = json_via_caddy("PATCH", "/api/todos/" + id, R"({"done":true})");
  EXPECT_EQ(patched.status, 200);
  EXPECT_TRUE(patched.json().at("done").as_bool());

  auto removed = via_caddy("DELETE", "/api/todos/" + id);
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(via_caddy("GET", "/api/todos/" + id).status, 404);
  EXPECT_EQ(scalar("SELECT count(*) FROM todos WHERE id = " + id), "0");
}

TEST(StackRoutes, HealthAndErrorsThroughCaddy) {
  auto health = via_caddy("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json().at("status").as_string(), "healthy");
  EXPECT_EQ(via_caddy("GET", "/readyz").status, 200);

  // A worker killed by an earlier run of these tests keeps its heartbeat
  // key for up to 15 s.
  http_result background;
  EXPECT_TRUE(wait_until(
      [&] {
        background = via_caddy("GET", "/healthz/background");
        return background.status == 200 && background.json().at("workers").as_int64() == 2;
      },
      20s))
      << background.body;
  EXPECT_EQ(background.json().at("redis").as_string(), "ok");

  auto unknown = via_caddy("GET", "/no-such-page");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json().at("error").as_string(), "not found");
  EXPECT_TRUE(unknown.json().as_object().contains("request_id"));

  auto wrong_method = via_caddy("PUT", "/api/todos");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("Allow"), "GET, HEAD, POST");

  auto cross_site = via_caddy("POST", "/add", "task=x",
                              {{"Content-Type", "application/x-www-form-urlencoded"}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(cross_site.status, 403);
}

TEST(StackRoutes, ExportThroughCaddy) {
  json_via_caddy("POST", "/api/todos", R"({"text":"exported, \"quoted\""})");
  const auto rows = scalar("SELECT count(*) FROM todos");

  auto started = json_via_caddy("POST", "/export", R"({"filters":{}})");
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string id(started.json().at("task_id").as_string());
  EXPECT_EQ(started.header("Location"), "/tasks/" + id);

  auto status = wait_until_export_ready(id);
  ASSERT_EQ(status.at("state").as_string(), "SUCCESS");
  EXPECT_EQ(std::to_string(status.at("info").as_int64()), rows);

  auto download = via_caddy("GET", "/download/" + id);
  EXPECT_EQ(download.status, 200);
  EXPECT_EQ(download.body.rfind("id,text,done,position,created_at\r\n", 0), 0u);
  EXPECT_EQ(std::to_string(count_lines(download.body) - 1), rows);
  EXPECT_NE(download.body.find(R"("exported, ""quoted""")"), std::string::npos);
  EXPECT_EQ(via_caddy("GET", "/download/00000000-0000-4000-8000-000000000000").status, 404);
}

// ---- static files and headers ------------------------------------------------------------

TEST(StackStatic, CaddyServesVersionedAssets) {
  auto page = via_caddy("GET", "/");
  std::smatch link;
  ASSERT_TRUE(std::regex_search(page.body, link, std::regex(R"re(/static/app\.css\?v=[0-9a-f]{12})re")));
  const std::string css_url = link[0];

  const auto request_id = unique_id("static-versioned");
  auto css = via_caddy("GET", css_url, {}, {{"X-Request-ID", request_id}});
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.body, read_text_file(fs::path(TODO_SOURCE_DIR) / "static" / "app.css"));
  EXPECT_EQ(css.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.header("Cache-Control"), "public, max-age=31536000, immutable");
  const auto etag = css.header("ETag");
  EXPECT_FALSE(etag.empty());
  EXPECT_FALSE(css.header("Last-Modified").empty());
  // Caddy served it: no replica logged the request.
  EXPECT_EQ(replica_that_served(request_id, 1s), "");

  auto unchanged = via_caddy("GET", css_url, {}, {{"If-None-Match", etag}});
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_TRUE(unchanged.body.empty());

  auto unversioned = via_caddy("GET", "/static/app.js");
  EXPECT_EQ(unversioned.status, 200);
  EXPECT_EQ(unversioned.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(unversioned.header("Cache-Control"), "public, max-age=3600");

  auto missing = via_caddy("GET", "/static/missing.css");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"not found"})");

  auto outside = http_request(port_of("caddy"), "GET", "/static/../scripts/run.sh", {}, {});
  EXPECT_EQ(outside.body.find("#!/usr/bin/env bash"), std::string::npos);
}

TEST(StackStatic, CaddyCompressesAssets) {
  const auto original = read_text_file(fs::path(TODO_SOURCE_DIR) / "static" / "app.js");
  for (const std::string encoding : {"gzip", "zstd"}) {
    auto compressed = via_caddy("GET", "/static/app.js", {}, {{"Accept-Encoding", encoding}});
    EXPECT_EQ(compressed.status, 200);
    EXPECT_EQ(compressed.header("Content-Encoding"), encoding);
    EXPECT_EQ(compressed.header("Vary"), "Accept-Encoding");
    EXPECT_LT(compressed.body.size(), original.size() / 2) << encoding;
  }
  auto plain = via_caddy("GET", "/static/app.js");
  EXPECT_EQ(plain.header("Content-Encoding"), "");
  EXPECT_EQ(plain.body, original);
}

TEST(StackHeaders, SecurityHeadersOnceOnEveryResponse) {
  // The values todo-web sets itself, read from a replica directly.
  const auto direct = http_request(port_of("web-1"), "GET", "/healthz", {}, {});
  std::map<std::string, std::string> expected;
  for (const auto& name : security_header_names) {
    expected[name] = direct.header(name);
    ASSERT_FALSE(expected[name].empty()) << name;
  }

  const std::vector<std::pair<std::string, http_result>> responses{
      {"proxied page", via_caddy("GET", "/")},
      {"proxied JSON", via_caddy("GET", "/api/todos")},
      {"proxied 404", via_caddy("GET", "/no-such-page")},
      {"static file", via_caddy("GET", "/static/app.css")},
      {"missing static file", via_caddy("GET", "/static/missing.css")},
      {"hidden metrics", via_caddy("GET", "/metrics")},
      {"body over the limit", via_caddy("POST", "/add", std::string(2 * 1024 * 1024, 'a'),
                                        {{"Content-Type", "application/x-www-form-urlencoded"}})},
  };
  for (const auto& [what, response] : responses) {
    // The harness joins repeated headers with ", ", so a second copy shows.
    for (const auto& name : security_header_names) EXPECT_EQ(response.header(name), expected[name]) << what << ": " << name;
    EXPECT_EQ(response.header("Server"), "") << what;
  }
}

TEST(StackHeaders, BodyOverLimitIs413) {
  for (const std::size_t size : {std::size_t{70 * 1024}, std::size_t{2 * 1024 * 1024}}) {
    auto response = via_caddy("POST", "/api/todos", std::string(size, ' '), {{"Content-Type", "application/json"}});
    EXPECT_EQ(response.status, 413) << size;
    EXPECT_EQ(response.json().at("error").as_string(), "request body too large");
  }
}

TEST(StackHeaders, MetricsHiddenFromPublic) {
  for (const std::string target : {"/metrics", "/metrics/", "/METRICS", "//metrics", "/./metrics", "/%6detrics",
                                   "/metrics?format=openmetrics", "/static/../metrics"}) {
    auto response = via_caddy("GET", target);
    EXPECT_EQ(response.status, 404) << target;
    EXPECT_EQ(response.body.find("http_request_duration_seconds"), std::string::npos) << target;
  }
  for (const auto& replica : web_replicas) {
    auto direct = http_request(port_of(replica), "GET", "/metrics", {}, {});
    EXPECT_EQ(direct.status, 200) << replica;
    EXPECT_NE(direct.body.find("http_request_duration_seconds"), std::string::npos) << replica;
  }
}

// ---- client address ----------------------------------------------------------------------

json::object access_line(const std::string& replica, const std::string& request_id) {
  json::object line;
  wait_until(
      [&] {
        for (const auto& object : log_objects(replica)) {
          if (field(object, "logger") == "todo.access" && field(object, "request_id") == request_id) {
            line = object;
            return true;
          }
        }
        return false;
      },
      5s);
  return line;
}

TEST(StackClientIp, ForgedForwardedForIsIgnored) {
  // The client connects from 127.0.0.2; Caddy and the replicas talk over
  // 127.0.0.1, the only address the replicas trust.
  const auto via_caddy_id = unique_id("forged-via-caddy");
  const auto direct_id = unique_id("forged-direct");
  const auto trusted_id = unique_id("trusted-hop");
  const std::map<std::string, std::string> forged{{"X-Forwarded-For", "203.0.113.9"}, {"X-Request-ID", via_caddy_id}};
  auto through_caddy = http_request(port_of("caddy"), "GET", "/healthz", {}, forged, 15s, "127.0.0.2");
  EXPECT_EQ(through_caddy.status, 200);
  const auto replica = replica_that_served(via_caddy_id);
  ASSERT_FALSE(replica.empty());
  EXPECT_EQ(field(access_line(replica, via_caddy_id), "client_ip"), "127.0.0.2");

  // Straight to a replica from an address that is not Caddy's.
  auto direct = http_request(port_of("web-1"), "GET", "/healthz", {},
                             {{"X-Forwarded-For", "203.0.113.9"}, {"X-Request-ID", direct_id}}, 15s, "127.0.0.2");
  EXPECT_EQ(direct.status, 200);
  EXPECT_EQ(field(access_line("web-1", direct_id), "client_ip"), "127.0.0.2");

  // From Caddy's address the header is believed, as it is from Caddy.
  auto trusted = http_request(port_of("web-1"), "GET", "/healthz", {},
                              {{"X-Forwarded-For", "198.51.100.7"}, {"X-Request-ID", trusted_id}});
  EXPECT_EQ(trusted.status, 200);
  EXPECT_EQ(field(access_line("web-1", trusted_id), "client_ip"), "198.51.100.7");

  // Caddy's own access log has the real client too.
  bool caddy_logged = wait_until(
      [&] {
        for (const auto& object : log_objects("caddy")) {
          const auto* request = object.if_contains("request");
          if (request == nullptr || !request->is_object()) continue;
          const auto* headers = request->as_object().if_contains("headers");
          if (headers == nullptr || json::serialize(*headers).find(via_caddy_id) == std::string::npos) continue;
          return field(request->as_object(), "remote_ip") == "127.0.0.2";
        }
        return false;
      },
      5s);
  EXPECT_TRUE(caddy_logged);
}

// ---- scaling out -------------------------------------------------------------------------

TEST(StackScaleOut, RequestsSpreadOverReplicas) {
  std::map<std::string, int> served;
  for (int i = 0; i < 40; ++i) {
    const auto id = unique_id("spread-" + std::to_string(i));
    EXPECT_EQ(via_caddy("GET", "/api/todos", {}, {{"X-Request-ID", id}}).status, 200);
    ++served[replica_that_served(id)];
  }
  EXPECT_EQ(served[""], 0);
  // Caddy picks a replica at random: fewer than 5 of 40 on one replica has
  // a probability below 1e-6.
  EXPECT_GE(served["web-1"], 5);
  EXPECT_GE(served["web-2"], 5);
  EXPECT_EQ(served["web-1"] + served["web-2"], 40);
}

TEST(StackScaleOut, ExportsSpreadOverWorkers) {
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(start_export());
  std::map<std::string, std::size_t> succeeded;
  for (const auto& id : ids) {
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(wait_until_export_ready(id).at("state").as_string(), "SUCCESS");
    // The log line can trail the state that clients poll.
    const auto runs = [&] {
      return count_logs(workers[0], "job succeeded", "job_id", id) + count_logs(workers[1], "job succeeded", "job_id", id);
    };
    wait_until([&] { return runs() > 0; }, 5s);
    EXPECT_EQ(runs(), 1u) << id;
    for (const auto& worker : workers) succeeded[worker] += count_logs(worker, "job succeeded", "job_id", id);
  }
  EXPECT_GE(succeeded["worker-1"], 1u);
  EXPECT_GE(succeeded["worker-2"], 1u);
}

TEST(StackScaleOut, ExportDownloadsFromOtherReplica) {
  const auto start_id = unique_id("export-start");
  const auto id = start_export({{"X-Request-ID", start_id}});
  ASSERT_FALSE(id.empty());
  const auto started_on = replica_that_served(start_id);
  ASSERT_FALSE(started_on.empty());
  ASSERT_EQ(wait_until_export_ready(id).at("state").as_string(), "SUCCESS");

  // Caddy picks at random, so download until the other replica serves it.
  std::string downloaded_from;
  http_result download;
  for (int attempt = 0; attempt < 20 && (downloaded_from.empty() || downloaded_from == started_on); ++attempt) {
    const auto request_id = unique_id("export-download-" + std::to_string(attempt));
    download = via_caddy("GET", "/download/" + id, {}, {{"X-Request-ID", request_id}});
    EXPECT_EQ(download.status, 200);
    downloaded_from = replica_that_served(request_id);
  }
  EXPECT_NE(downloaded_from, started_on);
  EXPECT_FALSE(downloaded_from.empty());
  EXPECT_EQ(download.body.rfind("id,text,done,position,created_at\r\n", 0), 0u);
}

// Steady traffic through Caddy from a few threads: each creates a todo with
// a unique text, then reads it back, a request every 10 ms per thread.
class steady_load {
 public:
  struct outcome {
    std::string method;
    int status = 0;
    std::string text;  // of a POST
    std::string body;  // of a failed request
    steady_clock::time_point finished;
  };

  // Deletes the todos an earlier run with the same prefix left behind, then
  // starts the threads.
  steady_load(std::string prefix, int threads) : prefix_(std::move(prefix)) {
    sql_session(database_url()).exec("DELETE FROM todos WHERE text LIKE '" + prefix_ + "-%'");
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
  }
  ~steady_load() { stop(); }

  std::size_t completed() const { return completed_.load(); }

  // Waits until `count` more requests have completed.
  bool wait_for_more(std::size_t count, std::chrono::milliseconds timeout) {
    const auto target = completed() + count;
    return wait_until([&] { return completed() >= target; }, timeout);
  }

  std::vector<outcome> stop() {
    stopping_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    std::lock_guard lock(mutex_);
    return outcomes_;
  }

 private:
  void run(int thread) {
    for (int n = 0; !stopping_; ++n) {
      const std::string text = prefix_ + "-" + std::to_string(thread) + "-" + std::to_string(n);
      auto created = json_via_caddy("POST", "/api/todos", R"({"text":")" + text + R"("})");
      record({"POST", created.status, text, created.status == 201 ? std::string() : created.body, steady_clock::now()});
      if (created.status == 201) {
        auto id = created.json().at("id").as_int64();
        auto fetched = via_caddy("GET", "/api/todos/" + std::to_string(id));
        record({"GET", fetched.status, {}, fetched.status == 200 ? std::string() : fetched.body, steady_clock::now()});
      }
      std::this_thread::sleep_for(10ms);  // pacing of the load, not a wait for a condition
    }
  }

  void record(outcome result) {
    std::lock_guard lock(mutex_);
    outcomes_.push_back(std::move(result));
    ++completed_;
  }

  std::string prefix_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> completed_{0};
  std::mutex mutex_;
  std::vector<outcome> outcomes_;
  std::vector<std::thread> threads_;
};

// Every todo whose POST got 201 is in the table exactly once, and no text
// is there twice (no POST was sent to two replicas).
void expect_created_todos_stored(const std::vector<steady_load::outcome>& outcomes, const std::string& prefix) {
  sql_session session(database_url());
  const auto stored = session.column("SELECT text FROM todos WHERE text LIKE '" + prefix + "-%'");
  std::multiset<std::string> stored_texts(stored.begin(), stored.end());
  std::set<std::string> unique(stored.begin(), stored.end());
  EXPECT_EQ(unique.size(), stored.size()) << "a todo was stored twice";
  for (const auto& outcome : outcomes) {
    if (outcome.method == "POST" && outcome.status == 201) {
      EXPECT_EQ(stored_texts.count(outcome.text), 1u) << outcome.text;
    }
  }
}

TEST(StackScaleOut, KilledReplicaLosesNoRetryableRequest) {
  steady_load load("killed-replica", 3);
  ASSERT_TRUE(load.wait_for_more(60, 30s));
  ASSERT_EQ(::kill(pid_of("web-1"), SIGKILL), 0);
  const auto killed = steady_clock::now();
  // Long enough for the health check to notice, then a while longer.
  const auto at_kill = load.completed();
  ASSERT_TRUE(wait_until([&] { return steady_clock::now() - killed > 5s && load.completed() > at_kill + 200; }, 60s));
  const auto outcomes = load.stop();

  // Caddy retries every GET on web-2. A POST fails only while Caddy still
  // counts web-1 as healthy, which its next health check (every 1 s, 1 s
  // timeout) ends: one that web-1 had received cannot be sent again, and
  // Caddy 2.6 cannot send a request body again after a failed connect.
  std::size_t failed_posts = 0;
  std::size_t served_after_detection = 0;
  for (const auto& outcome : outcomes) {
    const bool ok = outcome.status == (outcome.method == "POST" ? 201 : 200);
    if (ok && outcome.finished - killed > 3s) ++served_after_detection;
    if (ok) continue;
    EXPECT_EQ(outcome.method, "POST") << outcome.status << " " << outcome.body;
    EXPECT_EQ(outcome.status, 502) << outcome.text << " " << outcome.body;
    EXPECT_LT(outcome.finished - killed, 3s) << outcome.text;
    ++failed_posts;
  }
  EXPECT_GT(served_after_detection, 0u);
  expect_created_todos_stored(outcomes, "killed-replica");
  std::cout << "[          ] " << outcomes.size() << " requests, " << failed_posts << " POSTs failed with 502\n";

  ASSERT_EQ(run_script("up", "run-up-after-kill.log"), 0);
  EXPECT_TRUE(wait_until_replica_serves("web-1", 20s));
}

TEST(StackScaleOut, RollingRestartFailsNoRequest) {
  steady_load load("rolling-restart", 3);
  ASSERT_TRUE(load.wait_for_more(60, 30s));
  for (const auto& replica : web_replicas) {
    const auto pid = pid_of(replica);
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    EXPECT_TRUE(wait_until([&] { return !process_exists(pid); }, 30s)) << replica;
    ASSERT_EQ(run_script("up", "run-up-" + replica + ".log"), 0);
    EXPECT_TRUE(wait_until_replica_serves(replica, 20s)) << replica;
    ASSERT_TRUE(load.wait_for_more(60, 30s));
  }
  const auto outcomes = load.stop();

  std::size_t failed = 0;
  for (const auto& outcome : outcomes) {
    if (outcome.status != (outcome.method == "POST" ? 201 : 200)) {
      ++failed;
      ADD_FAILURE() << outcome.method << " " << outcome.text << " got " << outcome.status << " " << outcome.body;
    }
  }
  EXPECT_EQ(failed, 0u) << "of " << outcomes.size();
  expect_created_todos_stored(outcomes, "rolling-restart");
}

TEST(StackScaleOut, KilledWorkerFinishesExportOnce) {
  sql_session session(database_url());
  session.exec("INSERT INTO todos (text, position) SELECT 'bulk item ' || n, 1000000 + n FROM generate_series(1, 200000) AS n");
  const auto rows = scalar("SELECT count(*) FROM todos");

  const auto id = start_export();
  ASSERT_FALSE(id.empty());
  std::string doomed;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& worker : workers) {
          if (count_logs(worker, "job received", "job_id", id) > 0) doomed = worker;
        }
        return !doomed.empty();
      },
      20s));
  ASSERT_TRUE(wait_until([&] { return scalar("SELECT state FROM export_jobs WHERE id = '" + id + "'") == "STARTED"; }, 10s));
  ASSERT_EQ(::kill(pid_of(doomed), SIGKILL), 0);
  // Still running when killed: the export had not committed.
  EXPECT_EQ(scalar("SELECT state FROM export_jobs WHERE id = '" + id + "'"), "STARTED");

  const auto status = wait_until_export_ready(id, 90s);
  ASSERT_EQ(status.at("state").as_string(), "SUCCESS");
  EXPECT_EQ(std::to_string(status.at("info").as_int64()), rows);
  EXPECT_EQ(scalar("SELECT attempts FROM export_jobs WHERE id = '" + id + "'"), "2");
  const auto& rescuer = doomed == "worker-1" ? workers[1] : workers[0];
  EXPECT_TRUE(wait_until([&] { return count_logs(rescuer, "job succeeded", "job_id", id) == 1; }, 5s));
  EXPECT_EQ(count_logs(doomed, "job succeeded", "job_id", id), 0u);

  auto download = via_caddy("GET", "/download/" + id);
  EXPECT_EQ(download.status, 200);
  EXPECT_EQ(std::to_string(count_lines(download.body) - 1), rows);

  session.exec("DELETE FROM todos WHERE text LIKE 'bulk item %'");
  ASSERT_EQ(run_script("up", "run-up-after-worker-kill.log"), 0);
  EXPECT_TRUE(process_exists(pid_of(doomed)));
}

// ---- the stack as a whole ----------------------------------------------------------------

json::array prometheus_query(const std::string& promql) {
  std::string encoded;
  for (const unsigned char c : promql) {
    if (std::isalnum(c) != 0) {
      encoded += static_cast<char>(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      encoded += escaped;
    }
  }
  auto response = http_request(port_of("prometheus"), "GET", "/api/v1/query?query=" + encoded, {}, {});
  if (response.status != 200) return {};
  return response.json().at("data").at("result").as_array();
}

TEST(StackWhole, PrometheusScrapesEveryReplicaAndWorker) {
  std::map<std::string, std::string> up_by_process;
  const bool all_up = wait_until(
      [&] {
        up_by_process.clear();
        for (const auto& series : prometheus_query(R"(up{job=~"todo-web|todo-worker"})")) {
          const auto& labels = series.at("metric").as_object();
          up_by_process[field(labels, "process")] = std::string(series.at("value").as_array().at(1).as_string());
        }
        return up_by_process.size() == 4 &&
               std::all_of(up_by_process.begin(), up_by_process.end(), [](const auto& entry) { return entry.second == "1"; });
      },
      30s);
  EXPECT_TRUE(all_up);
  for (const auto& process : {"web-1", "web-2", "worker-1", "worker-2"}) EXPECT_EQ(up_by_process[process], "1") << process;

  auto rules = http_request(port_of("prometheus"), "GET", "/api/v1/rules", {}, {});
  ASSERT_EQ(rules.status, 200);
  EXPECT_NE(rules.body.find("endpoint:http_request_duration_seconds:p95_rate5m"), std::string::npos);
  EXPECT_NE(rules.body.find("\"TargetDown\""), std::string::npos);
}

TEST(StackWhole, StatusListsEveryProcessUp) {
  ASSERT_EQ(run_script("status", "run-status.log"), 0);
  const auto output = read_text_file(required_env("TODO_TEST_OUTPUT") + "/run-status.log");
  for (const auto& process : {"postgres", "redis", "web-1", "web-2", "worker-1", "worker-2", "caddy", "prometheus"}) {
    EXPECT_TRUE(std::regex_search(output, std::regex(std::string("\n") + process + " +[0-9]+ +up ")))
        << process << " in\n" << output;
  }
}

TEST(StackWhole, LogsMergeIntoOneJsonStream) {
  ASSERT_EQ(run_script("logs --no-follow -n 20", "run-logs.jsonl"), 0);
  std::ifstream stream(required_env("TODO_TEST_OUTPUT") + "/run-logs.jsonl");
  std::set<std::string> processes;
  std::string line;
  std::string previous_timestamp;
  std::size_t lines = 0;
  while (std::getline(stream, line)) {
    ++lines;
    boost::system::error_code ec;
    auto value = json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    ASSERT_TRUE(value.is_object()) << line;
    const auto& object = value.as_object();
    for (const char* name : {"timestamp", "level", "logger", "message", "process"}) {
      EXPECT_FALSE(field(object, name).empty()) << name << " in " << line;
    }
    const auto timestamp = field(object, "timestamp");
    EXPECT_TRUE(std::regex_match(timestamp, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << line;
    EXPECT_LE(previous_timestamp, timestamp) << line;
    previous_timestamp = timestamp;
    processes.insert(field(object, "process"));
  }
  EXPECT_GT(lines, 20u);
  for (const auto& process : {"postgres", "redis", "web-1", "web-2", "worker-1", "worker-2", "caddy", "prometheus"}) {
    EXPECT_EQ(processes.count(process), 1u) << process;
  }
}

}  // namespace
}  // namespace todo::testing
