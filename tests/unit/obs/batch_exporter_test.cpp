// The batch exporter against a small OTLP endpoint on loopback that answers
// as the test scripts it: accepted, refused with 503 and Retry-After, 400,
// or never answering at all.

#include "obs/batch_exporter.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

namespace todo::obs {
namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct scripted_answer {
  unsigned status = 200;
  std::string retry_after;  // empty: no Retry-After header
  bool silent = false;      // read the request and never answer
  bool then_ok = false;     // send `status` as an interim response, then 200
};

struct received_request {
  std::string target;
  std::string content_type;
  std::string authorization;
  std::string body;
  clock_type::time_point at;
};

// Responds to each request with the next scripted response, then with 200.
// Connections are served one at a time, on a thread of their own.
class otlp_endpoint_stub {
 public:
  otlp_endpoint_stub() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~otlp_endpoint_stub() {
    stopping_ = true;
    boost::system::error_code ignored;
    {
      // shutdown() wakes a blocking read on another thread; close() would not.
      std::lock_guard lock(mutex_);
      for (auto* socket : open_) socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    // A blocking accept() wakes only for a connection.
    asio::io_context poke_io;
    tcp::socket poke(poke_io);
    poke.connect(acceptor_.local_endpoint(), ignored);
    poke.close(ignored);
    thread_.join();
    acceptor_.close(ignored);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/v1/traces"; }

  void script(std::vector<scripted_answer> answers) {
    std::lock_guard lock(mutex_);
    answers_.assign(answers.begin(), answers.end());
  }

  std::vector<received_request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stopping_) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      {
        std::lock_guard lock(mutex_);
        open_.push_back(&socket);
      }
      serve_connection(socket);
      std::lock_guard lock(mutex_);
      open_.clear();
    }
  }

  void serve_connection(tcp::socket& socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      beast_http::request<beast_http::string_body> req;
      boost::system::error_code ec;
      beast_http::read(socket, buffer, req, ec);
      if (ec) return;

      scripted_answer answer;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back({std::string(req.target()), std::string(req[beast_http::field::content_type]),
                             std::string(req[beast_http::field::authorization]), req.body(), clock_type::now()});
        if (!answers_.empty()) {
          answer = answers_.front();
          answers_.pop_front();
        }
      }
      if (answer.silent) {
        // Hold the connection open without a word until the test ends.
        char byte = 0;
        socket.read_some(asio::buffer(&byte, 1), ec);
        return;
      }
      if (answer.then_ok) {
        beast_http::response<beast_http::empty_body> interim{static_cast<beast_http::status>(answer.status), 11};
        beast_http::write(socket, interim, ec);
        answer = scripted_answer{};
      }
      beast_http::response<beast_http::string_body> res{static_cast<beast_http::status>(answer.status), 11};
      res.set(beast_http::field::content_type, "application/json");
      if (!answer.retry_after.empty()) res.set(beast_http::field::retry_after, answer.retry_after);
      res.body() = answer.status == 200 ? "{}" : R"({"message":"scripted refusal"})";
      res.prepare_payload();
      beast_http::write(socket, res, ec);
      if (ec) return;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::deque<scripted_answer> answers_;
  std::vector<received_request> requests_;
  std::vector<tcp::socket*> open_;
};

span make_span(std::string name) {
  span item;
  item.name = std::move(name);
  item.kind = span_kind::server;
  item.context.trace_id = trace_id::generate();
  item.context.span_id = span_id::generate();
  item.context.flags = trace_flag_sampled;
  item.start_time_unix_nano = 1;
  item.end_time_unix_nano = 2;
  return item;
}

batch_exporter_options options_for(const std::string& url) {
  batch_exporter_options options;
  options.endpoint = parse_otlp_endpoint(url);
  options.schedule_delay = 50ms;
  options.request_timeout = 2s;
  options.export_timeout = 10s;
  options.resource.service_name = "todo-test";
  options.scope_version = "0.0.0";
  return options;
}

template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::vector<std::string> span_names(const std::string& body) {
  std::vector<std::string> names;
  const auto request = boost::json::parse(body).as_object();
  for (const auto& resource : request.at("resourceSpans").as_array()) {
    for (const auto& scope : resource.at("scopeSpans").as_array()) {
      for (const auto& item : scope.at("spans").as_array()) names.emplace_back(item.at("name").as_string());
    }
  }
  return names;
}

TEST(BatchExporter, SendsQueuedSpansAfterDelay) {
  otlp_endpoint_stub collector;
  auto options = options_for(collector.url());
  options.endpoint.headers = {{"authorization", "Bearer abc"}};
  registry metrics;
  batch_exporter exporter(options, &metrics);
  exporter.start();

  exporter.on_end(make_span("GET /"));
  exporter.on_end(make_span("SELECT todos"));
  ASSERT_TRUE(eventually([&] { return exporter.stats().exported == 2; }));

  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 1u) << "both spans travel in one batch";
  EXPECT_EQ(requests[0].target, "/v1/traces");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].authorization, "Bearer abc");
  EXPECT_EQ(span_names(requests[0].body), (std::vector<std::string>{"GET /", "SELECT todos"}));
  EXPECT_NE(metrics.render(exposition_format::text).find("trace_spans_exported_total 2"), std::string::npos);
  exporter.shutdown(1s);
}

TEST(BatchExporter, FullBatchSentAtOnce) {
  otlp_endpoint_stub collector;
  auto options = options_for(collector.url());
  options.schedule_delay = 60s;
  options.max_export_batch_size = 3;
  batch_exporter exporter(options, nullptr);
  exporter.start();
  for (int i = 0; i < 3; ++i) exporter.on_end(make_span("span " + std::to_string(i)));
  EXPECT_TRUE(eventually([&] { return exporter.stats().exported == 3; }, 3000ms));
  exporter.shutdown(1s);
}

TEST(BatchExporter, Retries503AfterRetryAfter) {
  otlp_endpoint_stub collector;
  collector.script({{503, "1"}});
  batch_exporter exporter(options_for(collector.url()), nullptr);
  exporter.start();
  exporter.on_end(make_span("GET /"));
  ASSERT_TRUE(eventually([&] { return exporter.stats().exported == 1; }, 5000ms));

  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body, requests[1].body) << "the retry sends the same batch";
  const auto gap = requests[1].at - requests[0].at;
  EXPECT_GE(gap, 950ms) << "Retry-After: 1 is honoured";
  EXPECT_LT(gap, 3000ms);
  EXPECT_EQ(exporter.stats().dropped_export_failed, 0u);
  exporter.shutdown(1s);
}

TEST(BatchExporter, RetryAfterZeroStillWaits) {
  otlp_endpoint_stub collector;
  collector.script({{429, "0"}, {429, "0"}});
  batch_exporter exporter(options_for(collector.url()), nullptr);
  exporter.start();
  exporter.on_end(make_span("GET /"));
  std::this_thread::sleep_for(1500ms);
  EXPECT_LE(collector.requests().size(), 2u) << "no retry storm";
  ASSERT_TRUE(eventually([&] { return exporter.stats().exported == 1; }, 5000ms));
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_GE(requests[1].at - requests[0].at, 950ms);
  EXPECT_GE(requests[2].at - requests[1].at, 950ms);
  exporter.shutdown(1s);
}

TEST(BatchExporter, LongRetryAfterHoldsLaterBatches) {
  otlp_endpoint_stub collector;
  collector.script({{503, "3"}});
  auto options = options_for(collector.url());
  options.export_timeout = 1s;  // shorter than the Retry-After, so the first batch is dropped
  batch_exporter exporter(options, nullptr);
  exporter.start();
  exporter.on_end(make_span("first"));
  ASSERT_TRUE(eventually([&] { return exporter.stats().dropped_export_failed == 1; }));
  exporter.on_end(make_span("second"));
  std::this_thread::sleep_for(1000ms);
  EXPECT_EQ(collector.requests().size(), 1u) << "the next batch waits for the Retry-After time";
  ASSERT_TRUE(eventually([&] { return exporter.stats().exported == 1; }, 5000ms));
  const auto requests = collector.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_GE(requests[1].at - requests[0].at, 2900ms);
  exporter.shutdown(1s);
}

TEST(BatchExporter, InterimResponseIsSkipped) {
  otlp_endpoint_stub collector;
  collector.script({{100, "", false, true}});
  batch_exporter exporter(options_for(collector.url()), nullptr);
  exporter.start();
  exporter.on_end(make_span("GET /"));
  EXPECT_TRUE(eventually([&] { return exporter.stats().exported == 1; }, 3000ms));
  exporter.shutdown(1s);
}

TEST(BatchExporter, RetryableStatuses) {
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_TRUE(is_retryable_status(502));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_TRUE(is_retryable_status(504));
  EXPECT_FALSE(is_retryable_status(400));
  EXPECT_FALSE(is_retryable_status(500));
  EXPECT_FALSE(is_retryable_status(501));
  EXPECT_FALSE(is_retryable_status(200));
}

TEST(BatchExporter, BadRequestDropsBatch) {
  otlp_endpoint_stub collector;
  collector.script({{400, ""}});
  registry metrics;
  batch_exporter exporter(options_for(collector.url()), &metrics);
  exporter.start();
  exporter.on_end(make_span("GET /"));
  exporter.on_end(make_span("GET /api/todos"));
  ASSERT_TRUE(eventually([&] { return exporter.stats().dropped_export_failed == 2; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(collector.requests().size(), 1u);
  EXPECT_NE(metrics.render(exposition_format::text).find("trace_spans_dropped_total{reason=\"export_failed\"} 2"),
            std::string::npos);
  exporter.shutdown(1s);
}

TEST(BatchExporter, UnreachableCollectorDropsBatch) {
  // A port that was just free: nothing listens there.
  std::string url;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    url = "http://127.0.0.1:" + std::to_string(probe.local_endpoint().port()) + "/v1/traces";
  }
  batch_exporter exporter(options_for(url), nullptr);
  exporter.start();
  exporter.on_end(make_span("GET /"));
  EXPECT_TRUE(eventually([&] { return exporter.stats().dropped_export_failed == 1; }));
  exporter.shutdown(1s);
}

TEST(BatchExporter, FullQueueDropsAndCounts) {
  otlp_endpoint_stub collector;
  collector.script({{0, "", true}});  // the first export hangs, so the queue fills up
  auto options = options_for(collector.url());
  options.max_queue_size = 10;
  options.max_export_batch_size = 5;
  registry metrics;
  batch_exporter exporter(options, &metrics);
  exporter.start();

  for (int i = 0; i < 5; ++i) exporter.on_end(make_span("first batch"));
  ASSERT_TRUE(eventually([&] { return collector.requests().size() == 1; }));

  const auto started = clock_type::now();
  for (int i = 0; i < 1000; ++i) exporter.on_end(make_span("later"));
  const auto elapsed = clock_type::now() - started;
  EXPECT_LT(elapsed, 500ms) << "on_end never waits for the collector";
  EXPECT_EQ(exporter.stats().dropped_queue_full, 990u);
  EXPECT_NE(metrics.render(exposition_format::text).find("trace_spans_dropped_total{reason=\"queue_full\"} 990"),
            std::string::npos);
  exporter.shutdown(200ms);
}

TEST(BatchExporter, BlackHoleShutdownIsBounded) {
  otlp_endpoint_stub collector;
  collector.script({{0, "", true}});
  auto options = options_for(collector.url());
  options.request_timeout = 30s;
  options.export_timeout = 60s;
  batch_exporter exporter(options, nullptr);
  exporter.start();
  exporter.on_end(make_span("GET /"));
  ASSERT_TRUE(eventually([&] { return collector.requests().size() == 1; }));
  exporter.on_end(make_span("queued behind the hung export"));

  const auto started = clock_type::now();
  exporter.shutdown(500ms);
  const auto elapsed = clock_type::now() - started;
  EXPECT_LT(elapsed, 2500ms) << "the timeout plus the short grace to cut the exchange";
  const auto stats = exporter.stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_EQ(stats.dropped_export_failed + stats.dropped_shutdown, 2u);
}

TEST(BatchExporter, ShutdownFlushesQueue) {
  otlp_endpoint_stub collector;
  auto options = options_for(collector.url());
  options.schedule_delay = 60s;  // only the shutdown sends them
  batch_exporter exporter(options, nullptr);
  exporter.start();
  for (int i = 0; i < 7; ++i) exporter.on_end(make_span("span"));
  exporter.shutdown(2s);
  EXPECT_EQ(exporter.stats().exported, 7u);
  ASSERT_EQ(collector.requests().size(), 1u);
  EXPECT_EQ(span_names(collector.requests()[0].body).size(), 7u);

  exporter.on_end(make_span("after shutdown"));
  EXPECT_EQ(exporter.stats().dropped_shutdown, 1u);
}

TEST(OtlpEndpoint, ParsesHttpUrlsOnly) {
  const auto endpoint = parse_otlp_endpoint("http://collector.internal:4318/v1/traces");
  EXPECT_EQ(endpoint.host, "collector.internal");
  EXPECT_EQ(endpoint.port, "4318");
  EXPECT_EQ(endpoint.target, "/v1/traces");
  EXPECT_EQ(endpoint.host_header, "collector.internal:4318");

  const auto default_port = parse_otlp_endpoint("http://[::1]/custom/path?x=1");
  EXPECT_EQ(default_port.host, "::1");
  EXPECT_EQ(default_port.port, "80");
  EXPECT_EQ(default_port.target, "/custom/path?x=1");

  EXPECT_THROW(parse_otlp_endpoint("https://collector:4318/v1/traces"), std::invalid_argument);
  EXPECT_THROW(parse_otlp_endpoint("collector:4318"), std::invalid_argument);
  EXPECT_THROW(parse_otlp_endpoint("http:///v1/traces"), std::invalid_argument);
  EXPECT_THROW(parse_otlp_endpoint("http://user:secret@collector:4318/"), std::invalid_argument);
  EXPECT_THROW(parse_otlp_endpoint("not a url"), std::invalid_argument);
}

}  // namespace
}  // namespace todo::obs
