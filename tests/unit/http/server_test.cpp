#include "http/server.hpp"

#include "http/responses.hpp"
#include "test_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using todo::http::request;
using todo::http::request_context;
using todo::http::response;
using todo::http::testing::is_closed_by_peer;
using todo::http::testing::test_client;

const std::regex uuid_v4_pattern("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

// Holds the /slow handler until the test releases it. The handler publishes
// its strand and timer, and `entered` is set only once the timer wait has
// started, so a release can never come too early.
struct handler_gate {
  std::promise<void> entered;
  std::optional<asio::any_io_executor> executor;
  asio::steady_timer* timer = nullptr;

  void release() {
    asio::post(*executor, [this] {
      if (timer != nullptr) timer->cancel();
    });
  }
};

boost::json::value parse_body(const response& res) { return boost::json::parse(res.body()); }

std::string get_request(std::string_view target, std::string_view extra_headers = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) + "\r\n";
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    routes_->add(beast_http::verb::get, "/hello", "hello",
                 [](const request& req, request_context&) -> asio::awaitable<response> {
                   co_return todo::http::json_response(req, beast_http::status::ok,
                                                       boost::json::object{{"message", "hello"}});
                 });
    routes_->add(beast_http::verb::get, "/whoami", "whoami",
                 [](const request& req, request_context& context) -> asio::awaitable<response> {
                   co_return todo::http::json_response(
                       req, beast_http::status::ok,
                       boost::json::object{{"client_ip", context.client_ip}, {"request_id", context.request_id}});
                 });
    routes_->add(beast_http::verb::post, "/echo", "echo",
                 [](const request& req, request_context&) -> asio::awaitable<response> {
                   co_return todo::http::json_response(
                       req, beast_http::status::ok,
                       boost::json::object{{"length", req.body().size()}, {"body", req.body()}});
                 });
    routes_->add(beast_http::verb::get, "/boom", "boom",
                 [](const request&, request_context&) -> asio::awaitable<response> {
                   throw std::runtime_error("handler exploded");
                   co_return response{};
                 });
    routes_->add(beast_http::verb::get, "/slow", "slow",
                 [gate = gate_](const request& req, request_context&) -> asio::awaitable<response> {
                   auto executor = co_await asio::this_coro::executor;
                   asio::steady_timer timer(executor, std::chrono::hours(1));
                   gate->executor = executor;
                   gate->timer = &timer;
                   asio::post(executor, [gate] { gate->entered.set_value(); });
                   co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                   gate->timer = nullptr;
                   co_return todo::http::json_response(req, beast_http::status::ok,
                                                       boost::json::object{{"message", "released"}});
                 });
  }

  void TearDown() override {
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) thread.join();
    server_.reset();
  }

  void start_server(todo::http::server_options options = {}) {
    options.endpoint = {asio::ip::make_address("127.0.0.1"), 0};
    options.environment = "test";
    server_ = std::make_unique<todo::http::server>(io_, std::move(options), routes_);
    server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  // Starts a shutdown and returns the future of the count passed to done.
  std::future<std::size_t> begin_shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto remaining = std::make_shared<std::promise<std::size_t>>();
    auto future = remaining->get_future();
    server_->shutdown(timeout, [remaining](std::size_t count) { remaining->set_value(count); });
    return future;
  }

  static std::optional<std::size_t> wait_for(std::future<std::size_t>& future) {
    if (future.wait_for(test_client::default_limit) != std::future_status::ready) return std::nullopt;
    return future.get();
  }

  unsigned short port() const { return server_->port(); }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::shared_ptr<todo::http::router> routes_ = std::make_shared<todo::http::router>();
  std::shared_ptr<handler_gate> gate_ = std::make_shared<handler_gate>();
  std::unique_ptr<todo::http::server> server_;
  std::vector<std::thread> threads_;
};

TEST_F(ServerTest, KeepAliveServesTwoRequests) {
  start_server();
  test_client client(port());

  client.send(get_request("/hello"));
  const auto first = client.read_response();
  EXPECT_EQ(first.result(), beast_http::status::ok);
  EXPECT_EQ(parse_body(first), (boost::json::object{{"message", "hello"}}));
  EXPECT_TRUE(first.keep_alive());
  EXPECT_EQ(first["X-Content-Type-Options"], "nosniff");
  EXPECT_TRUE(std::regex_match(std::string(first["X-Request-ID"]), uuid_v4_pattern));

  client.send(get_request("/hello"));
  const auto second = client.read_response();
  EXPECT_EQ(second.result(), beast_http::status::ok);
  EXPECT_EQ(parse_body(second), (boost::json::object{{"message", "hello"}}));
  EXPECT_NE(second["X-Request-ID"], first["X-Request-ID"]);
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
  start_server();
  test_client client(port());
  client.send(get_request("/hello", "X-Request-ID: first\r\n") + get_request("/nothing", "X-Request-ID: second\r\n"));

  const auto first = client.read_response();
  EXPECT_EQ(first.result(), beast_http::status::ok);
  EXPECT_EQ(first["X-Request-ID"], "first");

  const auto second = client.read_response();
  EXPECT_EQ(second.result(), beast_http::status::not_found);
  EXPECT_EQ(second["X-Request-ID"], "second");
}

TEST_F(ServerTest, SafeRequestIdIsEchoed) {
  start_server();
  test_client client(port());
  client.send(get_request("/whoami", "X-Request-ID: trace-abc.123_X\r\n"));
  const auto res = client.read_response();
  EXPECT_EQ(res["X-Request-ID"], "trace-abc.123_X");
  EXPECT_EQ(parse_body(res).as_object().at("request_id"), "trace-abc.123_X");
}

TEST_F(ServerTest, UnsafeRequestIdIsReplaced) {
  start_server();
  test_client client(port());
  client.send(get_request("/whoami", "X-Request-ID: bad<id>\r\n"));
  const auto res = client.read_response();
  const std::string id(res["X-Request-ID"]);
  EXPECT_TRUE(std::regex_match(id, uuid_v4_pattern)) << id;
  EXPECT_EQ(parse_body(res).as_object().at("request_id").as_string(), id);

  client.send(get_request("/whoami", "X-Request-ID: " + std::string(65, 'a') + "\r\n"));
  EXPECT_TRUE(std::regex_match(std::string(client.read_response()["X-Request-ID"]), uuid_v4_pattern));
}

TEST_F(ServerTest, NotFoundIsJsonWithRequestId) {
  start_server();
  test_client client(port());
  client.send(get_request("/missing?x=1", "X-Request-ID: nf-1\r\n"));
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::not_found);
  EXPECT_EQ(res[beast_http::field::content_type], "application/json");
  EXPECT_EQ(parse_body(res), (boost::json::object{{"error", "not found"}, {"request_id", "nf-1"}}));
  EXPECT_TRUE(res.keep_alive());
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  start_server();
  test_client client(port());
  client.send("DELETE /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::method_not_allowed);
  EXPECT_EQ(res[beast_http::field::allow], "GET, HEAD");
  EXPECT_EQ(parse_body(res).as_object().at("error"), "method not allowed");
}

TEST_F(ServerTest, UnknownMethodIs405) {
  start_server();
  test_client client(port());
  client.send("FOO /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::method_not_allowed);
  EXPECT_EQ(parse_body(res).as_object().at("error"), "method not allowed");

  // The connection stays usable.
  client.send(get_request("/hello"));
  EXPECT_EQ(client.read_response().result(), beast_http::status::ok);
}

TEST_F(ServerTest, HeadHasHeadersWithoutBody) {
  start_server();
  test_client client(port());
  client.send(get_request("/hello"));
  const auto get = client.read_response();

  client.send("HEAD /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const auto head = client.read_response(true);
  EXPECT_EQ(head.result(), beast_http::status::ok);
  EXPECT_EQ(head[beast_http::field::content_length], std::to_string(get.body().size()));
  EXPECT_EQ(head[beast_http::field::content_type], "application/json");
  EXPECT_TRUE(head.body().empty());

  // Had the server sent a body after the HEAD headers, it would be parsed
  // as the start of this response and fail.
  client.send(get_request("/hello"));
  EXPECT_EQ(client.read_response().result(), beast_http::status::ok);
}

TEST_F(ServerTest, ConnectionLimitClosesOldestIdle) {
  todo::http::server_options options;
  options.max_connections = 16;
  start_server(options);

  // Fill the server with idle keep-alive connections, as a hostile client would.
  std::vector<std::unique_ptr<test_client>> idle;
  for (int i = 0; i < 16; ++i) {
    idle.push_back(std::make_unique<test_client>(port()));
    idle.back()->send(get_request("/hello"));
    ASSERT_EQ(idle.back()->read_response().result(), beast_http::status::ok);
  }

  test_client newcomer(port());
  newcomer.send(get_request("/hello"));
  EXPECT_EQ(newcomer.read_response().result(), beast_http::status::ok);
  EXPECT_TRUE(is_closed_by_peer(idle.front()->wait_for_close()));
}

TEST_F(ServerTest, SlowSteadyReaderGetsWholeBody) {
  constexpr std::size_t body_size = 16 * 1024 * 1024;
  routes_->add(beast_http::verb::get, "/large", "large",
               [](const todo::http::request& req, todo::http::request_context&) -> asio::awaitable<todo::http::response> {
                 todo::http::response res{beast_http::status::ok, req.version()};
                 res.body() = std::string(body_size, 'x');
                 res.prepare_payload();
                 co_return res;
               });
  todo::http::server_options options;
  options.write_timeout = std::chrono::seconds(1);
  start_server(options);

  // The whole transfer takes longer than the write timeout, but the client
  // never stops reading for that long.
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port()});
  const std::string request = get_request("/large");
  asio::write(socket, asio::buffer(request));
  std::size_t received = 0;
  std::vector<char> chunk(256 * 1024);
  const auto started = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  while (received < body_size && !ec) {
    received += socket.read_some(asio::buffer(chunk), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a slow client, on purpose
  }
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_GE(received, body_size);
  EXPECT_GT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1))
      << "the transfer was faster than the timeout, so the test proved nothing";
}

TEST_F(ServerTest, BodyWithinLimitReachesHandler) {
  todo::http::server_options options;
  options.max_body_bytes = 100;
  start_server(options);
  test_client client(port());

  const std::string body(100, 'x');
  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n" + body);
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(parse_body(res), (boost::json::object{{"length", 100}, {"body", body}}));

  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  const auto chunked = client.read_response();
  EXPECT_EQ(chunked.result(), beast_http::status::ok);
  EXPECT_EQ(parse_body(chunked), (boost::json::object{{"length", 11}, {"body", "hello world"}}));
}

TEST_F(ServerTest, OversizedContentLengthIs413) {
  todo::http::server_options options;
  options.max_body_bytes = 100;
  start_server(options);
  test_client client(port());

  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: big-1\r\nContent-Length: 101\r\n\r\n");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
  EXPECT_EQ(parse_body(res), (boost::json::object{{"error", "request body too large"}, {"request_id", "big-1"}}));
  EXPECT_EQ(res[beast_http::field::connection], "close");
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
}

TEST_F(ServerTest, HugeContentLengthIs413) {
  start_server();
  test_client client(port());
  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999\r\n\r\n");
  EXPECT_EQ(client.read_response().result(), beast_http::status::payload_too_large);
}

TEST_F(ServerTest, OversizedChunkedBodyIs413) {
  todo::http::server_options options;
  options.max_body_bytes = 10;
  start_server(options);
  test_client client(port());

  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
              "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
  EXPECT_EQ(parse_body(res).as_object().at("error"), "request body too large");
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  start_server();
  test_client client(port());
  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.read_response().result(), beast_http::status::continue_);

  client.send("ping");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(parse_body(res), (boost::json::object{{"length", 4}, {"body", "ping"}}));
}

TEST_F(ServerTest, HugeHeaderIs431) {
  todo::http::server_options options;
  options.max_header_bytes = 1024;
  start_server(options);
  test_client client(port());

  client.send(get_request("/hello", "X-Padding: " + std::string(2000, 'p') + "\r\n"));
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::request_header_fields_too_large);
  EXPECT_EQ(parse_body(res).as_object().at("error"), "request header too large");
  EXPECT_TRUE(std::regex_match(std::string(res["X-Request-ID"]), uuid_v4_pattern));
  EXPECT_EQ(res[beast_http::field::connection], "close");
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
}

TEST_F(ServerTest, GarbageIs400AndCloses) {
  start_server();
  for (const std::string& garbage : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
                                    std::string("GET / FTP/1.1\r\n\r\n"), std::string("GET\r\n\r\n"),
                                    std::string("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
                                    std::string("POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                                    std::string("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
                                    std::string("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
                                    std::string("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET /hello HTTP/1.1\r\n\r\n")}) {
    test_client client(port());
    client.send(garbage);
    const auto res = client.read_response();
    EXPECT_EQ(res.result(), beast_http::status::bad_request) << garbage;
    EXPECT_EQ(parse_body(res).as_object().at("error"), "malformed request");
    EXPECT_TRUE(is_closed_by_peer(client.wait_for_close())) << garbage;
  }
}

TEST_F(ServerTest, MalformedChunkIs400) {
  start_server();
  test_client client(port());
  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
  EXPECT_EQ(parse_body(res).as_object().at("error"), "malformed request body");
}

TEST_F(ServerTest, SlowHeaderIsCutOff) {
  todo::http::server_options options;
  options.header_timeout = std::chrono::seconds(1);
  start_server(options);
  test_client client(port());

  // One byte per attempt, each followed by a wait for the close of a fifth
  // of the header timeout. A deadline that restarted with every byte would
  // never pass, and the loop would run through all attempts.
  const std::string header = "GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + std::string(100, 's');
  bool closed = false;
  for (std::size_t i = 0; i < 100 && !closed; ++i) {
    try {
      client.send(header.substr(i, 1));
    } catch (const std::runtime_error&) {
      closed = true;  // a send after the close can fail with a reset
      break;
    }
    closed = is_closed_by_peer(client.wait_for_close(std::chrono::milliseconds(200)));
  }
  EXPECT_TRUE(closed);
}

TEST_F(ServerTest, HalfHeaderIsDisconnected) {
  todo::http::server_options options;
  options.header_timeout = std::chrono::seconds(1);
  start_server(options);
  test_client client(port());
  client.send("GET /hello HTTP/1.1\r\nHost: loc");
  const auto ended = client.wait_for_close();
  EXPECT_TRUE(is_closed_by_peer(ended)) << ended.message();
  EXPECT_TRUE(client.leftover().empty()) << client.leftover();
}

TEST_F(ServerTest, IdleKeepAliveTimesOut) {
  todo::http::server_options options;
  options.idle_timeout = std::chrono::seconds(1);
  start_server(options);
  test_client client(port());
  client.send(get_request("/hello"));
  EXPECT_EQ(client.read_response().result(), beast_http::status::ok);
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
}

TEST_F(ServerTest, HandlerExceptionIs500) {
  start_server();
  test_client client(port());
  client.send(get_request("/boom", "X-Request-ID: boom-1\r\n"));
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::internal_server_error);
  EXPECT_EQ(parse_body(res), (boost::json::object{{"error", "internal server error"}, {"request_id", "boom-1"}}));
  EXPECT_EQ(res["X-Request-ID"], "boom-1");

  client.send(get_request("/hello"));
  EXPECT_EQ(client.read_response().result(), beast_http::status::ok);
}

TEST_F(ServerTest, CrossSitePostIs403) {
  start_server();
  test_client client(port());
  client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 2\r\n\r\nhi");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::forbidden);
  EXPECT_EQ(parse_body(res).as_object().at("error"), "cross-site request rejected: Sec-Fetch-Site is cross-site");
}

TEST_F(ServerTest, ForwardedForFromTrustedPeer) {
  todo::http::server_options options;
  options.trusted_proxies = todo::config::parse_cidr_list("127.0.0.1/32");
  start_server(options);
  test_client client(port());

  client.send(get_request("/whoami", "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 198.51.100.7\r\n"));
  EXPECT_EQ(parse_body(client.read_response()).as_object().at("client_ip"), "198.51.100.7");

  client.send(get_request("/whoami", "X-Forwarded-For: 198.51.100.8\r\nX-Forwarded-For: 127.0.0.1\r\n"));
  EXPECT_EQ(parse_body(client.read_response()).as_object().at("client_ip"), "198.51.100.8");
}

TEST_F(ServerTest, ForwardedForFromUntrustedPeerIsIgnored) {
  start_server();
  test_client client(port());
  client.send(get_request("/whoami", "X-Forwarded-For: 198.51.100.7\r\n"));
  EXPECT_EQ(parse_body(client.read_response()).as_object().at("client_ip"), "127.0.0.1");
}

TEST_F(ServerTest, Http10ClosesAfterResponse) {
  start_server();
  test_client client(port());
  client.send("GET /hello HTTP/1.0\r\n\r\n");
  const auto res = client.read_response();
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
}

TEST_F(ServerTest, ConnectionCloseIsHonored) {
  start_server();
  test_client client(port());
  client.send(get_request("/hello", "Connection: close\r\n"));
  const auto res = client.read_response();
  EXPECT_EQ(res[beast_http::field::connection], "close");
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
}

TEST_F(ServerTest, StartFailsWhenPortTaken) {
  start_server();
  todo::http::server_options options;
  options.endpoint = {asio::ip::make_address("127.0.0.1"), port()};
  todo::http::server second(io_, options, routes_);
  EXPECT_THROW(second.start(), boost::system::system_error);
}

TEST_F(ServerTest, ShutdownWithoutConnections) {
  start_server();
  auto remaining = begin_shutdown();
  EXPECT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
  EXPECT_THROW(test_client{port()}, std::runtime_error);
}

TEST_F(ServerTest, ShutdownLetsRequestInFlightFinish) {
  start_server();
  test_client busy(port());
  busy.send(get_request("/slow"));
  ASSERT_EQ(gate_->entered.get_future().wait_for(test_client::default_limit), std::future_status::ready);

  // Shutdown stops connections in accept order, so once `idle` is closed,
  // the stop of `busy` is queued on its strand ahead of the release.
  test_client idle(port());
  idle.send(get_request("/hello"));
  EXPECT_EQ(idle.read_response().result(), beast_http::status::ok);

  auto remaining = begin_shutdown();
  EXPECT_TRUE(is_closed_by_peer(idle.wait_for_close()));
  EXPECT_EQ(remaining.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  gate_->release();
  const auto res = busy.read_response();
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(parse_body(res), (boost::json::object{{"message", "released"}}));
  EXPECT_EQ(res[beast_http::field::connection], "close");
  EXPECT_TRUE(is_closed_by_peer(busy.wait_for_close()));
  EXPECT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
}

TEST_F(ServerTest, ShutdownTimeoutReportsOpenConnections) {
  start_server();
  test_client busy(port());
  busy.send(get_request("/slow"));
  ASSERT_EQ(gate_->entered.get_future().wait_for(test_client::default_limit), std::future_status::ready);

  auto remaining = begin_shutdown(std::chrono::milliseconds(200));
  EXPECT_EQ(wait_for(remaining), std::optional<std::size_t>(1));
  EXPECT_TRUE(is_closed_by_peer(busy.wait_for_close()));
}

TEST_F(ServerTest, SecondShutdownGetsSameResult) {
  start_server();
  auto first = begin_shutdown();
  auto second = begin_shutdown();
  EXPECT_EQ(wait_for(first), std::optional<std::size_t>(0));
  EXPECT_EQ(wait_for(second), std::optional<std::size_t>(0));
}

// Sends the log to a temporary file for one test. The writer is restarted on
// stdout afterwards, because stop_logging() keeps the last descriptor.
class captured_log {
 public:
  captured_log() {
    std::string pattern = "/tmp/todo-http-log-XXXXXX";
    fd_ = mkstemp(pattern.data());
    if (fd_ < 0) throw std::runtime_error("mkstemp failed");
    path_ = pattern;
    read_fd_ = ::open(path_.c_str(), O_RDONLY);
    if (read_fd_ < 0) throw std::runtime_error("cannot reopen the log file");
    todo::obs::start_logging(todo::obs::log_level::info, fd_);
  }

  ~captured_log() {
    todo::obs::stop_logging();
    todo::obs::start_logging(todo::obs::log_level::info, 1);
    todo::obs::stop_logging();
    ::close(read_fd_);
    ::close(fd_);
    std::remove(path_.c_str());
  }

  // Polls the file until `text` appears, for at most the client limit. It
  // opens no descriptor, so it works while the descriptor limit is lowered.
  bool wait_for_text(std::string_view text) const {
    const auto deadline = std::chrono::steady_clock::now() + test_client::default_limit;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string content(1 << 20, '\0');
      const auto size = ::pread(read_fd_, content.data(), content.size(), 0);
      if (size > 0 && content.substr(0, static_cast<std::size_t>(size)).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::vector<boost::json::object> stop_and_read() {
    todo::obs::stop_logging();
    std::ifstream input(path_);
    std::vector<boost::json::object> lines;
    for (std::string line; std::getline(input, line);) lines.push_back(boost::json::parse(line).as_object());
    return lines;
  }

 private:
  int fd_ = -1;
  int read_fd_ = -1;
  std::string path_;
};

std::vector<boost::json::object> lines_of(const std::vector<boost::json::object>& lines, std::string_view logger) {
  std::vector<boost::json::object> selected;
  for (const auto& line : lines) {
    if (line.at("logger").as_string() == logger) selected.push_back(line);
  }
  return selected;
}

TEST_F(ServerTest, ShutdownClosesIdleConnection) {
  captured_log log;
  todo::http::server_options options;
  options.idle_timeout = std::chrono::seconds(60);
  start_server(options);
  test_client client(port());
  client.send(get_request("/hello", "X-Request-ID: idle-1\r\n"));
  EXPECT_EQ(client.read_response().result(), beast_http::status::ok);

  // Between logging its access line and waiting for the next request the
  // connection does not suspend, so a stop that arrives later finds it idle.
  ASSERT_TRUE(log.wait_for_text("\"request_id\":\"idle-1\""));

  // The idle and shutdown timeouts are longer than the client's limit, so
  // only closing idle connections at once can end this one in time.
  auto remaining = begin_shutdown(std::chrono::seconds(60));
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
  EXPECT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
}

TEST_F(ServerTest, ShutdownClosesConnectionMidHeader) {
  captured_log log;
  todo::http::server_options options;
  options.header_timeout = std::chrono::seconds(60);
  options.idle_timeout = std::chrono::seconds(60);
  start_server(options);
  test_client client(port());
  client.send(get_request("/hello", "X-Request-ID: partial-1\r\n"));
  EXPECT_EQ(client.read_response().result(), beast_http::status::ok);
  ASSERT_TRUE(log.wait_for_text("\"request_id\":\"partial-1\""));

  // Half a header: the server is reading it, or still waiting idle for it.
  // Either way no request is in flight, so the shutdown closes the connection.
  client.send("GET /hel");
  auto remaining = begin_shutdown(std::chrono::seconds(60));
  EXPECT_TRUE(is_closed_by_peer(client.wait_for_close()));
  EXPECT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
}

TEST_F(ServerTest, LogsOneAccessLinePerRequest) {
  captured_log log;
  start_server();
  {
    test_client client(port());
    client.send(get_request("/hello?secret=1", "X-Request-ID: log-1\r\nUser-Agent: test-agent/1.0\r\n"));
    EXPECT_EQ(client.read_response().result(), beast_http::status::ok);
    client.send(get_request("/boom", "X-Request-ID: log-2\r\n"));
    EXPECT_EQ(client.read_response().result(), beast_http::status::internal_server_error);
  }
  auto remaining = begin_shutdown();
  ASSERT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
  const auto lines = log.stop_and_read();

  const auto access = lines_of(lines, "todo.access");
  ASSERT_EQ(access.size(), 2u);
  const auto& hello = access[0];
  std::set<std::string> keys;
  for (const auto& field : hello) keys.insert(std::string(field.key()));
  EXPECT_EQ(keys, (std::set<std::string>{"timestamp", "level", "logger", "message", "request_id", "http.method",
                                         "http.path", "status_code", "duration_ms", "client_ip", "user_agent",
                                         "route"}));
  EXPECT_EQ(hello.at("level"), "INFO");
  EXPECT_EQ(hello.at("message"), "GET /hello 200");
  EXPECT_EQ(hello.at("request_id"), "log-1");
  EXPECT_EQ(hello.at("http.method"), "GET");
  EXPECT_EQ(hello.at("http.path"), "/hello");
  EXPECT_EQ(hello.at("status_code"), 200);
  EXPECT_TRUE(hello.at("duration_ms").is_double());
  EXPECT_GE(hello.at("duration_ms").as_double(), 0.0);
  EXPECT_EQ(hello.at("client_ip"), "127.0.0.1");
  EXPECT_EQ(hello.at("user_agent"), "test-agent/1.0");
  EXPECT_EQ(hello.at("route"), "hello");

  EXPECT_EQ(access[1].at("message"), "GET /boom 500");
  EXPECT_EQ(access[1].at("route"), "boom");

  std::vector<boost::json::object> errors;
  for (const auto& line : lines_of(lines, "todo.http")) {
    if (line.at("level") == "ERROR") errors.push_back(line);
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("message"), "request handler failed");
  EXPECT_EQ(errors[0].at("request_id"), "log-2");
  EXPECT_EQ(errors[0].at("error"), "handler exploded");

  bool listening = false;
  bool stopped = false;
  for (const auto& line : lines_of(lines, "todo.http")) {
    if (line.at("message") == "http server listening") {
      listening = true;
      EXPECT_EQ(line.at("address"), "127.0.0.1");
      EXPECT_EQ(line.at("port"), port());
    }
    if (line.at("message") == "http server stopped") stopped = true;
  }
  EXPECT_TRUE(listening);
  EXPECT_TRUE(stopped);
}

TEST_F(ServerTest, RejectedRequestsAreLogged) {
  captured_log log;
  todo::http::server_options options;
  options.max_body_bytes = 10;
  start_server(options);
  {
    test_client client(port());
    client.send("POST /echo?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: big-2\r\nContent-Length: 11\r\n\r\n");
    EXPECT_EQ(client.read_response().result(), beast_http::status::payload_too_large);
  }
  {
    test_client client(port());
    client.send("NOT HTTP\r\n\r\n");
    EXPECT_EQ(client.read_response().result(), beast_http::status::bad_request);
  }
  auto remaining = begin_shutdown();
  ASSERT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
  const auto access = lines_of(log.stop_and_read(), "todo.access");

  // Each line is written after its response is sent, so their order may
  // differ from the order of the requests.
  ASSERT_EQ(access.size(), 2u);
  const bool too_large_first = access[0].at("status_code") == 413;
  const auto& too_large = too_large_first ? access[0] : access[1];
  const auto& malformed = too_large_first ? access[1] : access[0];
  EXPECT_EQ(too_large.at("message"), "POST /echo 413");
  EXPECT_EQ(too_large.at("request_id"), "big-2");
  EXPECT_EQ(too_large.at("http.path"), "/echo");
  EXPECT_EQ(too_large.at("route"), "payload_too_large");
  EXPECT_EQ(malformed.at("message"), "- - 400");
  EXPECT_EQ(malformed.at("status_code"), 400);
  EXPECT_EQ(malformed.at("route"), "bad_request");
  EXPECT_EQ(malformed.at("http.method"), "");
  EXPECT_TRUE(std::regex_match(std::string(malformed.at("request_id").as_string()), uuid_v4_pattern));
}

// Lowers the soft descriptor limit to the descriptors open now, so the next
// accept fails with EMFILE until the object is destroyed.
class descriptor_limit {
 public:
  descriptor_limit() {
    if (::getrlimit(RLIMIT_NOFILE, &saved_) != 0) throw std::runtime_error("getrlimit failed");
    const int lowest_free = ::open("/dev/null", O_RDONLY);
    if (lowest_free < 0) throw std::runtime_error("cannot open /dev/null");
    ::close(lowest_free);

    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
    if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) throw std::runtime_error("setrlimit failed");
  }

  ~descriptor_limit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

TEST_F(ServerTest, AcceptErrorDoesNotStopServer) {
  captured_log log;
  start_server();

  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  const timeval receive_limit{static_cast<time_t>(test_client::default_limit.count()), 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &receive_limit, sizeof receive_limit);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port());
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);

  {
    // The kernel completes the connection in the listen backlog, while
    // every accept by the server fails until the limit is restored.
    descriptor_limit no_free_descriptors;
    ASSERT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ASSERT_TRUE(log.wait_for_text("http accept failed, retrying"));
  }

  const auto request_text = get_request("/hello", "Connection: close\r\n");
  ASSERT_EQ(::send(client, request_text.data(), request_text.size(), 0), static_cast<ssize_t>(request_text.size()));
  std::string received(4096, '\0');
  auto size = ::recv(client, received.data(), received.size(), 0);
  ::close(client);
  if (size == 0) {
    // When an accept got the last free descriptor, the server closed its
    // oldest idle connection to free one, and that was this client, accepted
    // before it sent anything. A new connection must then be served.
    ASSERT_TRUE(log.wait_for_text("connection limit reached, closing the oldest connections"));
    test_client retry(port());
    retry.send(request_text);
    const auto response = retry.read_response();
    EXPECT_EQ(response.result_int(), 200);
    received = "HTTP/1.1 " + std::to_string(response.result_int()) + " " + std::string(response.reason());
    size = static_cast<ssize_t>(received.size());
  }
  ASSERT_GT(size, 0);
  EXPECT_EQ(received.substr(0, 15), "HTTP/1.1 200 OK");

  auto remaining = begin_shutdown();
  ASSERT_EQ(wait_for(remaining), std::optional<std::size_t>(0));
  std::vector<boost::json::object> warnings;
  for (const auto& line : lines_of(log.stop_and_read(), "todo.http")) {
    if (line.at("message") == "http accept failed, retrying") warnings.push_back(line);
  }
  ASSERT_GE(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].at("level"), "WARNING");
  EXPECT_EQ(warnings[0].at("errors_not_logged"), 0);
  EXPECT_EQ(warnings[0].at("error"), "Too many open files");
}

}  // namespace
