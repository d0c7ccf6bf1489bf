// Tracing end to end: todo-web and todo-worker export to the test OTLP
// receiver (tests/otlp/receiver.mjs), which decodes every export with the
// official OTLP schema and rejects anything that does not follow the OTLP
// JSON encoding. scripts/test.sh starts it and sets TODO_TEST_OTLP_PORT.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

namespace todo::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

unsigned short receiver_port() { return static_cast<unsigned short>(std::stoi(required_env("TODO_TEST_OTLP_PORT"))); }

std::string receiver_url() { return "http://127.0.0.1:" + std::to_string(receiver_port()); }

http_result receiver(const std::string& method, const std::string& target, const std::string& body = {}) {
  return http_request(receiver_port(), method, target, body, {{"Content-Type", "application/json"}});
}

void reset_receiver() {
  ASSERT_EQ(receiver("POST", "/mode", R"({"mode":"ok"})").status, 200);
  ASSERT_EQ(receiver("DELETE", "/spans").status, 200);
}

std::vector<json::object> spans_of(const std::string& trace_id) {
  const auto result = receiver("GET", "/spans?traceId=" + trace_id);
  EXPECT_EQ(result.status, 200);
  std::vector<json::object> spans;
  const auto parsed = json::parse(result.body);
  for (const auto& item : parsed.as_array()) spans.push_back(item.as_object());
  return spans;
}

// Polls the receiver until `trace_id` has at least `count` spans.
std::vector<json::object> wait_for_spans(const std::string& trace_id, std::size_t count,
                                         std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto spans = spans_of(trace_id);
  while (spans.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    spans = spans_of(trace_id);
  }
  return spans;
}

std::string text(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return "(missing)";
  if (value->is_string()) return std::string(value->as_string());
  return json::serialize(*value);
}

std::string attribute(const json::object& span, std::string_view key) {
  return text(span.at("attributes").as_object(), key);
}

const json::object* find_span(const std::vector<json::object>& spans, std::string_view name,
                              std::string_view parent_id = {}) {
  for (const auto& span : spans) {
    if (text(span, "name") == name && (parent_id.empty() || text(span, "parentSpanId") == parent_id)) return &span;
  }
  return nullptr;
}

std::string names_of(const std::vector<json::object>& spans) {
  std::string names;
  for (const auto& span : spans) names += text(span, "name") + " (" + text(span, "spanId") + " <- " + text(span, "parentSpanId") + ")\n";
  return names;
}

struct traceparent_parts {
  std::string trace_id;
  std::string span_id;
  std::string flags;
};

traceparent_parts split_traceparent(const std::string& header) {
  if (header.size() != 55) return {};
  return {header.substr(3, 32), header.substr(36, 16), header.substr(53, 2)};
}

web_process::environment tracing_env(web_process::environment extra = {}) {
  web_process::environment env{{"TRACING_ENABLED", "true"},
                               {"OTEL_EXPORTER_OTLP_ENDPOINT", receiver_url()},
                               {"OTEL_BSP_SCHEDULE_DELAY", "100"},
                               {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,service.version=9.9.9"}};
  for (auto& [key, value] : extra) env[key] = value;
  return env;
}

std::string receiver_errors() { return receiver("GET", "/errors").body; }

class Tracing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    web_ = std::make_unique<web_process>(tracing_env());
    worker_ = start_worker(tracing_env());
  }
  static void TearDownTestSuite() {
    worker_.reset();
    web_.reset();
  }
  void SetUp() override { reset_receiver(); }
  void TearDown() override { EXPECT_EQ(receiver_errors(), "[]") << "the receiver rejected an export"; }

  static std::unique_ptr<web_process> web_;
  static std::unique_ptr<web_process> worker_;
};

std::unique_ptr<web_process> Tracing::web_;
std::unique_ptr<web_process> Tracing::worker_;

TEST_F(Tracing, ExportIsOneTraceAcrossProcesses) {
  const auto accepted = web_->post_json("/export", "{}");
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const auto server_ids = split_traceparent(accepted.header("traceparent"));
  ASSERT_EQ(server_ids.trace_id.size(), 32u) << accepted.header("traceparent");
  EXPECT_EQ(server_ids.flags, "01");
  const std::string job_id(accepted.json().at("task_id").as_string());

  // POST /export: server, INSERT, producer, XADD. Worker: consumer, BEGIN,
  // claim, COMMIT, BEGIN, export statements, COMMIT, XACK.
  auto spans = wait_for_spans(server_ids.trace_id, 12);
  const auto* consumer = find_span(spans, "process todo:jobs");
  // The two processes export on their own schedules, so wait for the web's
  // server span and the worker's acknowledgement both.
  for (int i = 0; i < 300 && (find_span(spans, "POST /export") == nullptr || consumer == nullptr ||
                              !find_span(spans, "PIPELINE", text(*consumer, "spanId")));
       ++i) {
    std::this_thread::sleep_for(100ms);
    spans = spans_of(server_ids.trace_id);
    consumer = find_span(spans, "process todo:jobs");
  }
  ASSERT_NE(consumer, nullptr) << names_of(spans);

  const auto* server = find_span(spans, "POST /export");
  ASSERT_NE(server, nullptr) << names_of(spans);
  EXPECT_EQ(text(*server, "spanId"), server_ids.span_id) << "the response traceparent names the server span";
  EXPECT_EQ(text(*server, "parentSpanId"), "");
  EXPECT_EQ(text(*server, "kind"), "2");
  EXPECT_EQ(text(server->at("resource").as_object(), "service.name"), "todo-web");
  EXPECT_EQ(text(server->at("resource").as_object(), "deployment.environment"), "test");
  EXPECT_EQ(text(server->at("resource").as_object(), "service.version"), "9.9.9") << "the user's value wins";
  EXPECT_EQ(attribute(*server, "http.request.method"), "POST");
  EXPECT_EQ(attribute(*server, "http.route"), "/export");
  EXPECT_EQ(attribute(*server, "url.path"), "/export");
  EXPECT_EQ(attribute(*server, "url.scheme"), "http");
  EXPECT_EQ(attribute(*server, "http.response.status_code"), "202");
  EXPECT_EQ(attribute(*server, "client.address"), "127.0.0.1");
  EXPECT_EQ(attribute(*server, "server.address"), "127.0.0.1");
  EXPECT_EQ(attribute(*server, "server.port"), std::to_string(web_->port()));
  EXPECT_EQ(text(server->at("status").as_object(), "code"), "0");

  const auto* insert = find_span(spans, "INSERT export_jobs", server_ids.span_id);
  ASSERT_NE(insert, nullptr) << names_of(spans);
  EXPECT_EQ(text(*insert, "kind"), "3");
  EXPECT_EQ(attribute(*insert, "db.system"), "postgresql");
  EXPECT_EQ(attribute(*insert, "db.operation.name"), "INSERT");
  EXPECT_EQ(attribute(*insert, "db.namespace"), "todo_app_test");
  const auto query_text = attribute(*insert, "db.query.text");
  EXPECT_NE(query_text.find("$1"), std::string::npos) << query_text;
  EXPECT_EQ(query_text.find(job_id), std::string::npos) << "values never reach the trace";

  const auto* producer = find_span(spans, "send todo:jobs", server_ids.span_id);
  ASSERT_NE(producer, nullptr) << names_of(spans);
  EXPECT_EQ(text(*producer, "kind"), "4");
  EXPECT_EQ(attribute(*producer, "messaging.operation.type"), "send");
  EXPECT_EQ(attribute(*producer, "messaging.destination.name"), "todo:jobs");
  EXPECT_EQ(attribute(*producer, "todo.job.id"), job_id);
  const auto entry_id = attribute(*producer, "messaging.message.id");
  const auto* xadd = find_span(spans, "XADD", text(*producer, "spanId"));
  ASSERT_NE(xadd, nullptr) << names_of(spans);
  EXPECT_EQ(attribute(*xadd, "db.system"), "redis");
  EXPECT_EQ(attribute(*xadd, "db.query.text").find(job_id), std::string::npos);

  EXPECT_EQ(text(*consumer, "parentSpanId"), text(*producer, "spanId")) << "the worker continues the producer";
  EXPECT_EQ(text(*consumer, "kind"), "5");
  EXPECT_EQ(text(consumer->at("resource").as_object(), "service.name"), "todo-worker");
  EXPECT_EQ(attribute(*consumer, "messaging.operation.type"), "process");
  EXPECT_EQ(attribute(*consumer, "messaging.message.id"), entry_id);
  EXPECT_EQ(attribute(*consumer, "messaging.consumer.group.name"), "workers");
  EXPECT_EQ(attribute(*consumer, "todo.job.id"), job_id);

  const auto consumer_id = text(*consumer, "spanId");
  std::size_t worker_queries = 0;
  for (const auto& span : spans) {
    if (text(span, "parentSpanId") == consumer_id && attribute(span, "db.system") == "postgresql") ++worker_queries;
  }
  EXPECT_GE(worker_queries, 6u) << names_of(spans);
  EXPECT_NE(find_span(spans, "PIPELINE", consumer_id), nullptr) << "the acknowledgement, " << names_of(spans);

  // Log lines written inside the spans carry their ids, in both processes.
  const auto enqueued = web_->logs_where("message", "export job enqueued");
  const auto web_line = std::find_if(enqueued.begin(), enqueued.end(),
                                     [&](const auto& line) { return text(line, "job_id") == job_id; });
  ASSERT_NE(web_line, enqueued.end());
  EXPECT_EQ(text(*web_line, "trace_id"), server_ids.trace_id);
  EXPECT_EQ(text(*web_line, "span_id"), server_ids.span_id);

  ASSERT_TRUE(worker_->wait_for_log("job succeeded", 10s));
  const auto succeeded = worker_->logs_where("message", "job succeeded");
  const auto worker_line = std::find_if(succeeded.begin(), succeeded.end(),
                                        [&](const auto& line) { return text(line, "job_id") == job_id; });
  ASSERT_NE(worker_line, succeeded.end());
  EXPECT_EQ(text(*worker_line, "trace_id"), server_ids.trace_id);
  EXPECT_EQ(text(*worker_line, "span_id"), consumer_id);
  EXPECT_EQ(text(*worker_line, "request_id"), accepted.header("X-Request-ID"));
}

TEST_F(Tracing, LinesOutsideSpansHaveNoIds) {
  const auto starts = web_->logs_where("message", "starting todo-web");
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].if_contains("trace_id"), nullptr);
  EXPECT_EQ(starts[0].if_contains("span_id"), nullptr);
}

TEST_F(Tracing, SampledParentIsContinued) {
  const std::string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const auto result = web_->request("GET", "/api/todos", "",
                                    {{"traceparent", parent}, {"tracestate", "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"}});
  ASSERT_EQ(result.status, 200);
  const auto ids = split_traceparent(result.header("traceparent"));
  EXPECT_EQ(ids.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_NE(ids.span_id, "b7ad6b7169203331");
  EXPECT_EQ(ids.flags, "01");
  EXPECT_FALSE(result.header("X-Request-ID").empty()) << "the request id stays";

  const auto spans = wait_for_spans(ids.trace_id, 2);
  const auto* server = find_span(spans, "GET /api/todos");
  ASSERT_NE(server, nullptr) << names_of(spans);
  EXPECT_EQ(text(*server, "parentSpanId"), "b7ad6b7169203331");
  EXPECT_EQ(text(*server, "spanId"), ids.span_id);
  EXPECT_EQ(text(*server, "traceState"), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  const auto* select = find_span(spans, "SELECT todos", ids.span_id);
  ASSERT_NE(select, nullptr) << names_of(spans);
  EXPECT_EQ(text(*select, "traceState"), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}

TEST_F(Tracing, UnsampledParentIsNotExported) {
  const std::string parent = "00-1bf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
  const auto result = web_->request("GET", "/api/todos", "", {{"traceparent", parent}});
  ASSERT_EQ(result.status, 200);
  const auto ids = split_traceparent(result.header("traceparent"));
  EXPECT_EQ(ids.trace_id, "1bf7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(ids.flags, "00");

  // A sampled request after it is exported, so the first one had its chance.
  const auto marker = web_->get("/api/todos");
  wait_for_spans(split_traceparent(marker.header("traceparent")).trace_id, 1);
  EXPECT_TRUE(spans_of(ids.trace_id).empty());
}

TEST_F(Tracing, InvalidParentsStartNewTrace) {
  const std::vector<std::string> invalid{
      "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  // upper case
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",  // zero trace id
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  // zero parent id
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  // forbidden version
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  // version 00 with more fields
      "0af7651916cd43dd8448eb211c80319c",
  };
  for (const auto& header : invalid) {
    const auto result = web_->request("GET", "/api/todos", "", {{"traceparent", header}});
    ASSERT_EQ(result.status, 200) << header;
    const auto ids = split_traceparent(result.header("traceparent"));
    EXPECT_EQ(ids.trace_id.size(), 32u) << header;
    EXPECT_NE(ids.trace_id, "0af7651916cd43dd8448eb211c80319c") << header;
    EXPECT_NE(ids.trace_id, "00000000000000000000000000000000") << header;
  }

  // A later version may add fields after a '-': its first four are used.
  const auto future = web_->request("GET", "/api/todos", "",
                                    {{"traceparent", "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future"}});
  EXPECT_EQ(split_traceparent(future.header("traceparent")).trace_id, "0af7651916cd43dd8448eb211c80319c");
}

TEST_F(Tracing, HealthAndMetricsNotTraced) {
  for (const char* target : {"/healthz", "/readyz", "/metrics"}) {
    const auto result = web_->get(target);
    EXPECT_EQ(result.status, 200) << target;
    EXPECT_EQ(result.header("traceparent"), "") << target;
  }
  const auto marker = web_->get("/api/todos");
  wait_for_spans(split_traceparent(marker.header("traceparent")).trace_id, 2);
  const auto all = json::parse(receiver("GET", "/spans").body).as_array();
  for (const auto& span : all) {
    const auto route = attribute(span.as_object(), "http.route");
    EXPECT_TRUE(route != "/healthz" && route != "/readyz" && route != "/metrics") << route;
  }
}

TEST_F(Tracing, ClientErrorsKeepStatusUnset) {
  const auto missing = web_->get("/api/todos/999999999");
  ASSERT_EQ(missing.status, 404);
  const auto unknown = web_->get("/no/such/page");
  ASSERT_EQ(unknown.status, 404);

  auto spans = wait_for_spans(split_traceparent(missing.header("traceparent")).trace_id, 2);
  const auto* item = find_span(spans, "GET /api/todos/{id}");
  ASSERT_NE(item, nullptr) << names_of(spans);
  EXPECT_EQ(attribute(*item, "http.response.status_code"), "404");
  EXPECT_EQ(text(item->at("status").as_object(), "code"), "0");
  EXPECT_EQ(attribute(*item, "error.type"), "(missing)");

  spans = wait_for_spans(split_traceparent(unknown.header("traceparent")).trace_id, 1);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(text(spans[0], "name"), "GET") << "never the raw path";
  EXPECT_EQ(attribute(spans[0], "http.route"), "(missing)");
  EXPECT_EQ(attribute(spans[0], "url.path"), "/no/such/page");
}

TEST_F(Tracing, ServerErrorsMarkSpanFailed) {
  web_process web(tracing_env({{"DB_TIMEOUT_MS", "300"}}));
  sql_session locker(required_env("TODO_TEST_APP_DATABASE_URL"));
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE todos IN ACCESS EXCLUSIVE MODE");
  const auto result = web.get("/api/todos");
  locker.exec("ROLLBACK");
  ASSERT_EQ(result.status, 503) << result.body;

  const auto ids = split_traceparent(result.header("traceparent"));
  const auto spans = wait_for_spans(ids.trace_id, 2);
  const auto* server = find_span(spans, "GET /api/todos");
  ASSERT_NE(server, nullptr) << names_of(spans);
  EXPECT_EQ(text(server->at("status").as_object(), "code"), "2");
  EXPECT_EQ(attribute(*server, "error.type"), "503");
  const auto* select = find_span(spans, "SELECT todos", ids.span_id);
  ASSERT_NE(select, nullptr) << names_of(spans);
  EXPECT_EQ(text(select->at("status").as_object(), "code"), "2");
  const auto error_type = attribute(*select, "error.type");
  EXPECT_TRUE(error_type == "57014" || error_type == "timeout") << error_type;

  // The request's log line for the failure carries the trace.
  bool found = false;
  for (const auto& line : web.logs_where("trace_id", ids.trace_id)) {
    if (text(line, "level") == "WARNING") found = true;
  }
  EXPECT_TRUE(found);
}

TEST_F(Tracing, ObservationsCarryExemplars) {
  const auto result = web_->get("/api/todos");
  const auto ids = split_traceparent(result.header("traceparent"));
  const auto scrape = web_->request("GET", "/metrics", "", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
  ASSERT_EQ(scrape.status, 200);
  EXPECT_NE(scrape.body.find("# {trace_id=\"" + ids.trace_id + "\",span_id=\"" + ids.span_id + "\"}"),
            std::string::npos)
      << "no exemplar for the request";
}

TEST_F(Tracing, JavaScriptSdkTraceContinues) {
  const std::string output = required_env("TODO_TEST_OUTPUT") + "/interop-client.txt";
  const std::string command = "node " + std::string(TODO_SOURCE_DIR) + "/tests/otlp/interop_client.mjs http://127.0.0.1:" +
                              std::to_string(web_->port()) + "/api/todos " + receiver_url() + " >" + output + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream file(output);
  std::stringstream captured;
  captured << file.rdbuf();
  ASSERT_EQ(WEXITSTATUS(status), 0) << captured.str();

  std::string last_line;
  std::istringstream lines(captured.str());
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last_line = line;
  }
  const auto client = json::parse(last_line).as_object();
  const auto trace_id = text(client, "traceId");
  const auto client_span = text(client, "spanId");
  EXPECT_EQ(text(client, "status"), "200");
  EXPECT_EQ(split_traceparent(text(client, "traceparent")).trace_id, trace_id);

  const auto spans = wait_for_spans(trace_id, 3);
  const auto* server = find_span(spans, "GET /api/todos");
  ASSERT_NE(server, nullptr) << names_of(spans);
  EXPECT_EQ(text(*server, "parentSpanId"), client_span);
  EXPECT_EQ(text(server->at("resource").as_object(), "service.name"), "todo-web");
  bool client_exported = false;
  for (const auto& span : spans) {
    if (text(span, "spanId") == client_span) {
      client_exported = true;
      EXPECT_EQ(text(span.at("resource").as_object(), "service.name"), "interop-client");
    }
  }
  EXPECT_TRUE(client_exported) << names_of(spans);
}

// Collector faults: a web process of its own with a small queue, so that
// drops happen quickly.
web_process::environment fault_env(const std::string& endpoint) {
  return tracing_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", endpoint},
                      {"OTEL_EXPORTER_OTLP_TIMEOUT", "3000"},
                      {"OTEL_BSP_MAX_QUEUE_SIZE", "20"},
                      {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"}});
}

// Sends `count` requests one after another and returns the slowest, in ms.
long long slowest_of(const web_process& web, int count) {
  long long slowest = 0;
  for (int i = 0; i < count; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const auto result = web.get("/api/todos");
    EXPECT_EQ(result.status, 200);
    slowest = std::max<long long>(
        slowest, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  }
  return slowest;
}

double metric_value(const web_process& web, const std::string& series) {
  const auto body = web.get("/metrics").body;
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

TEST_F(Tracing, BlackHoledCollectorDelaysNothing) {
  ASSERT_EQ(receiver("POST", "/mode", R"({"mode":"blackhole"})").status, 200);
  web_process web(fault_env(receiver_url()));
  // The exporter hangs on its first export for 3 s; these requests must not
  // wait for it. One second is far above a request's time on this path.
  EXPECT_LT(slowest_of(web, 200), 1000);
  EXPECT_GT(metric_value(web, "trace_spans_dropped_total{reason=\"queue_full\"}"), 0);
  EXPECT_TRUE(web.wait_for_log("trace spans dropped", 5s));

  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(web.stop(SIGTERM), 0);
  const auto stop_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(stop_ms, 9000) << "the flush is bounded";
  EXPECT_TRUE(web.wait_for_log("trace exporter stopped", 1s));
  ASSERT_EQ(receiver("POST", "/mode", R"({"mode":"ok"})").status, 200);
}

TEST_F(Tracing, CollectorDownLosesOnlySpans) {
  const auto closed_port = free_port();
  web_process web(fault_env("http://127.0.0.1:" + std::to_string(closed_port)));
  EXPECT_LT(slowest_of(web, 100), 1000);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metric_value(web, "trace_spans_dropped_total{reason=\"export_failed\"}") <= 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(metric_value(web, "trace_spans_dropped_total{reason=\"export_failed\"}"), 0);
  EXPECT_EQ(web.stop(SIGTERM), 0);
}

TEST_F(Tracing, CollectorBusyIsRetried) {
  ASSERT_EQ(receiver("POST", "/mode", R"({"mode":"status","status":503,"retryAfter":"1","count":1})").status, 200);
  const auto result = web_->get("/api/todos");
  const auto trace_id = split_traceparent(result.header("traceparent")).trace_id;
  const auto spans = wait_for_spans(trace_id, 2);
  EXPECT_EQ(spans.size(), 2u) << names_of(spans);
  const auto stats = json::parse(receiver("GET", "/stats").body).as_object();
  EXPECT_EQ(text(stats.at("byStatus").as_object(), "503"), "1");
  EXPECT_GE(std::stoi(text(stats.at("byStatus").as_object(), "200")), 1);
}

TEST(TracingOff, NothingTracedWhenDisabled) {
  auto& web = shared_web();
  const auto result = web.get("/api/todos");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.header("traceparent"), "");
  for (const auto& line : web.log_lines()) {
    EXPECT_EQ(line.find("\"trace_id\""), std::string::npos) << line;
  }
  EXPECT_EQ(web.get("/metrics").body.find("trace_spans_"), std::string::npos);
}

TEST(TracingConfig, InvalidValuesStopStart) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"OTEL_TRACES_SAMPLER=sometimes", "OTEL_TRACES_SAMPLER"},
      {"OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=1.5", "OTEL_TRACES_SAMPLER_ARG"},
      {"OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT"},
      {"OTEL_EXPORTER_OTLP_HEADERS=novalue", "OTEL_EXPORTER_OTLP_HEADERS"},
      {"OTEL_BSP_MAX_QUEUE_SIZE=lots", "OTEL_BSP_MAX_QUEUE_SIZE"},
  };
  const std::string output = required_env("TODO_TEST_OUTPUT") + "/bad-tracing-config.txt";
  for (const auto& [assignment, variable] : cases) {
    const std::string command = "TRACING_ENABLED=true " + assignment +
                                " DATABASE_URL=postgresql://x@127.0.0.1:1/x " + std::string(TODO_WEB_BINARY) + " >" +
                                output + " 2>&1";
    const int status = std::system(command.c_str());
    EXPECT_EQ(WEXITSTATUS(status), 2) << assignment;
    std::ifstream file(output);
    std::stringstream captured;
    captured << file.rdbuf();
    EXPECT_NE(captured.str().find(variable), std::string::npos) << captured.str();
  }
}

}  // namespace
}  // namespace todo::testing
