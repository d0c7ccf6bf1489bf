// /metrics of todo-web and todo-worker: the exposition itself, the counts it
// reports, promtool's verdict, and a real Prometheus scraping both.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <regex>

namespace todo::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Returns the value of the sample line that starts with `series` (the metric
// name with its labels exactly as exposed), or -1 when there is none.
double sample_value(const std::string& exposition, const std::string& series) {
  std::size_t at = 0;
  while ((at = exposition.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') {
      const auto end = exposition.find('\n', at);
      return std::stod(exposition.substr(at + series.size() + 1, end - at - series.size() - 1));
    }
    at += series.size();
  }
  return -1;
}

std::size_t count_lines_starting(const std::string& exposition, const std::string& prefix) {
  std::size_t count = 0;
  std::size_t at = 0;
  while ((at = exposition.find(prefix, at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') ++count;
    at += prefix.size();
  }
  return count;
}

// Pipes `text` through `promtool check metrics` and returns its exit status and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  const std::string input = required_env("TODO_TEST_OUTPUT") + "/promtool-input.txt";
  std::ofstream(input) << text;
  const std::string command = "promtool check metrics < " + input + " 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WEXITSTATUS(status), output};
}

std::string url_encode(const std::string& text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

unsigned short prometheus_port() {
  const std::string url = required_env("TODO_TEST_PROMETHEUS_URL");
  return static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// Runs an instant PromQL query and returns the "result" array.
json::array prometheus_query(const std::string& promql) {
  auto response = http_request(prometheus_port(), "GET", "/api/v1/query?query=" + url_encode(promql), "", {});
  EXPECT_EQ(response.status, 200) << promql << ": " << response.body;
  if (response.status != 200) return {};
  auto body = response.json();
  EXPECT_EQ(body.at("status").as_string(), "success") << response.body;
  return body.at("data").at("result").as_array();
}

// The first value of a query's result vector, or -1 when the vector is empty.
double prometheus_scalar(const std::string& promql) {
  auto result = prometheus_query(promql);
  if (result.empty()) return -1;
  return std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
}

// Points Prometheus's file-based discovery for `job_file` at `port`; port 0 empties it.
void set_prometheus_targets(const std::string& job_file, unsigned short port) {
  std::ofstream(required_env("TODO_TEST_PROMETHEUS_TARGETS") + "/" + job_file)
      << (port == 0 ? std::string("[]\n") : "[{\"targets\": [\"127.0.0.1:" + std::to_string(port) + "\"]}]\n");
}

TEST(WebMetrics, ExposesEveryFamily) {
  web_process& web = shared_web();
  web.get("/healthz");
  auto response = web.get("/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = response.body;
  for (const std::string family :
       {"http_request_duration_seconds histogram", "http_requests_in_flight gauge", "background_jobs_total counter",
        "process_cpu_seconds_total counter", "process_resident_memory_bytes gauge",
        "process_virtual_memory_bytes gauge", "process_open_fds gauge", "process_max_fds gauge",
        "process_start_time_seconds gauge", "todo_build_info gauge", "db_pool_connections gauge",
        "db_pool_wait_seconds histogram"}) {
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + family), 1u) << family;
  }
  EXPECT_EQ(sample_value(text, "http_requests_in_flight{environment=\"test\"}"), 1.0);
  EXPECT_GT(sample_value(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(sample_value(text, "process_open_fds"), 3);
  EXPECT_NE(text.find("todo_build_info{version=\""), std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_bucket{method=\"GET\",endpoint=\"health_check\","
                      "status=\"200\",environment=\"test\",le=\"0.0005\"}"),
            std::string::npos);
}

TEST(WebMetrics, RequestCountsMatchRequestsSent) {
  web_process& web = shared_web();
  const std::string series =
      "http_request_duration_seconds_count{method=\"GET\",endpoint=\"api_list_todos\",status=\"200\","
      "environment=\"test\"}";
  const double before = std::max(0.0, sample_value(web.get("/metrics").body, series));
  for (int i = 0; i < 7; ++i) ASSERT_EQ(web.get("/api/todos").status, 200);
  EXPECT_EQ(sample_value(web.get("/metrics").body, series), before + 7);

  const std::string not_found =
      "http_request_duration_seconds_count{method=\"GET\",endpoint=\"not_found\",status=\"404\",environment=\"test\"}";
  const double missing_before = std::max(0.0, sample_value(web.get("/metrics").body, not_found));
  web.get("/no/such/page");
  EXPECT_EQ(sample_value(web.get("/metrics").body, not_found), missing_before + 1);
}

TEST(WebMetrics, ClientInputAddsNoSeries) {
  web_process& web = shared_web();
  web.get("/no/such/page");
  web.request("BREW", "/coffee");
  web.request("DELETE", "/add");
  const auto before = count_lines_starting(web.get("/metrics").body, "http_request_duration_seconds_count{");

  for (int i = 0; i < 300; ++i) {
    web.get("/random/" + std::to_string(i) + "/path?x=" + std::to_string(i));
    web.request(i % 2 ? "BREW" : "PROPFIND", "/p" + std::to_string(i));
    web.request("PUT", "/toggle/" + std::to_string(i));
  }
  const auto after = count_lines_starting(web.get("/metrics").body, "http_request_duration_seconds_count{");
  EXPECT_LE(after, before + 3) << "unknown paths or methods created new series";
}

TEST(WebMetrics, OpenMetricsWhenAsked) {
  web_process& web = shared_web();
  auto response = web.request("GET", "/metrics", "", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
  ASSERT_GE(response.body.size(), 6u);
  EXPECT_EQ(response.body.substr(response.body.size() - 6), "# EOF\n");
  EXPECT_NE(response.body.find("# TYPE background_jobs counter"), std::string::npos);
}

TEST(WebMetrics, PromtoolAcceptsExposition) {
  web_process& web = shared_web();
  web.get("/api/todos");
  auto [status, output] = promtool_check(web.get("/metrics").body);
  EXPECT_EQ(status, 0) << output;
}

TEST(WorkerMetrics, JobCountersFollowExports) {
  reset_todos();
  web_process& web = shared_web();
  auto worker = start_worker();
  // Every status starts at 0, so increase() counts a first failure.
  const auto at_start = worker->get("/metrics").body;
  EXPECT_EQ(sample_value(at_start,
                         "background_jobs_total{job_type=\"export_csv\",status=\"failed\",environment=\"test\"}"),
            0);
  EXPECT_EQ(sample_value(at_start,
                         "background_jobs_total{job_type=\"export_csv\",status=\"retried\",environment=\"test\"}"),
            0);
  const std::string enqueued =
      "background_jobs_total{job_type=\"export_csv\",status=\"enqueued\",environment=\"test\"}";
  const std::string succeeded =
      "background_jobs_total{job_type=\"export_csv\",status=\"succeeded\",environment=\"test\"}";
  const double enqueued_before = std::max(0.0, sample_value(web.get("/metrics").body, enqueued));

  for (int i = 0; i < 3; ++i) ASSERT_EQ(web.request("POST", "/export").status, 202);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string worker_metrics;
  while (std::chrono::steady_clock::now() < deadline) {
    worker_metrics = worker->get("/metrics").body;
    if (sample_value(worker_metrics, succeeded) >= 3) break;
    std::this_thread::sleep_for(100ms);  // polling the worker's counters
  }
  EXPECT_EQ(sample_value(worker_metrics, succeeded), 3);
  EXPECT_EQ(sample_value(worker_metrics,
                         "background_jobs_total{job_type=\"export_csv\",status=\"started\",environment=\"test\"}"),
            3);
  EXPECT_EQ(sample_value(web.get("/metrics").body, enqueued), enqueued_before + 3);
  EXPECT_NE(worker_metrics.find("# TYPE background_job_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(worker_metrics.find("background_queue_depth{job_type=\"export_csv\",state=\"waiting\"}"),
            std::string::npos);
  EXPECT_GT(sample_value(worker_metrics, "process_resident_memory_bytes"), 1e6);

  auto [status, output] = promtool_check(worker_metrics);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(worker->get("/healthz").status, 200);
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

TEST(Prometheus, ScrapesWebAndWorker) {
  reset_todos();
  web_process web;
  auto worker = start_worker();
  set_prometheus_targets("web.json", web.port());
  set_prometheus_targets("worker.json", worker->port());

  const std::string web_up = "up{job=\"todo-web\",instance=\"127.0.0.1:" + std::to_string(web.port()) + "\"}";
  const std::string worker_up =
      "up{job=\"todo-worker\",instance=\"127.0.0.1:" + std::to_string(worker->port()) + "\"}";
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline &&
         (prometheus_scalar(web_up) != 1 || prometheus_scalar(worker_up) != 1)) {
    std::this_thread::sleep_for(250ms);  // Prometheus reads the targets files and scrapes every second
  }
  ASSERT_EQ(prometheus_scalar(web_up), 1);
  ASSERT_EQ(prometheus_scalar(worker_up), 1);

  for (int i = 0; i < 11; ++i) ASSERT_EQ(web.get("/api/todos").status, 200);
  ASSERT_EQ(web.request("POST", "/export").status, 202);

  const std::string requests = "sum(http_request_duration_seconds_count{job=\"todo-web\",instance=\"127.0.0.1:" +
                               std::to_string(web.port()) + "\",endpoint=\"api_list_todos\"})";
  const std::string jobs = "sum(background_jobs_total{job=\"todo-worker\",instance=\"127.0.0.1:" +
                           std::to_string(worker->port()) + "\",status=\"succeeded\"})";
  deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline &&
         (prometheus_scalar(requests) != 11 || prometheus_scalar(jobs) != 1)) {
    std::this_thread::sleep_for(250ms);  // waiting for the next scrapes
  }
  EXPECT_EQ(prometheus_scalar(requests), 11);
  EXPECT_EQ(prometheus_scalar(jobs), 1);

  // The Python version's dashboard queries run unchanged.
  for (const std::string query :
       {"sum(rate(http_request_duration_seconds_count[5m])) by (endpoint)",
        "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le, endpoint))",
        "sum(rate(http_request_duration_seconds_count{status=~\"5..\"}[5m])) / "
        "sum(rate(http_request_duration_seconds_count[5m]))",
        "sum(rate(background_jobs_total{status=\"succeeded\"}[5m])) by (job_type)"}) {
    prometheus_query(query);
  }
  // rate() needs two samples of a series, so the first scrapes may give nothing yet.
  const std::string rate_query = "sum(rate(http_request_duration_seconds_count[5m])) by (endpoint)";
  deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline && prometheus_query(rate_query).empty()) {
    std::this_thread::sleep_for(250ms);  // waiting for the next scrape
  }
  EXPECT_FALSE(prometheus_query(rate_query).empty());

  set_prometheus_targets("web.json", 0);
  set_prometheus_targets("worker.json", 0);
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace todo::testing
