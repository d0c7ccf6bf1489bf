#include "queue/connection.hpp"

#include "queue/error.hpp"
#include "redis_test_support.hpp"
#include "reply_printer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <stdexcept>
#include <string>

namespace todo::queue {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace std::string_literals;
using testing::io_runner;

// Returns the code of the queue::error that `operation` throws.
template <typename Operation>
asio::awaitable<std::optional<errc>> code_of(Operation operation) {
  try {
    co_await operation();
  } catch (const error& e) {
    co_return e.code_value();
  }
  co_return std::nullopt;
}

class RedisConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto url = testing::env_value("TODO_TEST_REDIS_URL");
    if (!url) GTEST_FAIL() << testing::missing_redis_message();
    url_ = parse_redis_url(*url);
    prefix_ = testing::unique_prefix(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  asio::awaitable<std::unique_ptr<connection>> open(redis_url url, std::chrono::milliseconds timeout = 2s) {
    co_return co_await connection::connect(co_await asio::this_coro::executor, url, timeout);
  }

  asio::awaitable<std::unique_ptr<connection>> open() { return open(url_); }

  redis_url url_;
  std::string prefix_;
  io_runner io_{1};
};

TEST_F(RedisConnection, RoundTripIsBinarySafe) {
  const std::string key = prefix_ + ":bin\0key\r\n"s;
  const std::string value = "a\0b\r\n$3\r\n*1\r\n\xff\x00"s;
  const auto [stored, read_back] = io_.run([&]() -> asio::awaitable<std::pair<reply, reply>> {
    auto conn = co_await open();
    command_args set{"SET", key, value};
    command_args get{"GET", key};
    auto first = co_await conn->command(std::move(set), 2s);
    auto second = co_await conn->command(std::move(get), 2s);
    co_return std::pair{first, second};
  }());
  EXPECT_EQ(stored, reply::make_status("OK"));
  ASSERT_EQ(read_back.type, reply_type::bulk_string);
  EXPECT_EQ(read_back.text.size(), value.size());
  EXPECT_EQ(read_back.text, value);
}

TEST_F(RedisConnection, PipelineKeepsOrderAndReturnsErrors) {
  const std::string key = prefix_ + ":counter";
  const auto [replies, healthy] = io_.run([&]() -> asio::awaitable<std::pair<std::vector<reply>, bool>> {
    auto conn = co_await open();
    std::vector<command_args> batch{{"SET", key, "41"}, {"INCR", key}, {"LPUSH", key, "x"}, {"GET", key},
                                    {"GET", key + ":missing"}, {"PING"}};
    auto results = co_await conn->commands(std::move(batch), 2s);
    co_return std::pair{results, conn->healthy()};
  }());
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0], reply::make_status("OK"));
  EXPECT_EQ(replies[1], reply::make_integer(42));
  EXPECT_EQ(replies[2].type, reply_type::error);
  EXPECT_TRUE(replies[2].text.starts_with("WRONGTYPE")) << replies[2].text;
  EXPECT_EQ(replies[3], reply::make_bulk("42"));
  EXPECT_EQ(replies[4].type, reply_type::nil);
  EXPECT_EQ(replies[5], reply::make_status("PONG"));
  EXPECT_TRUE(healthy) << "an error reply must not break the connection";
}

TEST_F(RedisConnection, LargeValueSpansManyReads) {
  std::string value(3 * 1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 31 % 251);
  const std::string key = prefix_ + ":large";
  const reply read_back = io_.run([&]() -> asio::awaitable<reply> {
    auto conn = co_await open();
    std::vector<command_args> batch{{"SET", key, value}, {"GET", key}, {"DEL", key}};
    auto results = co_await conn->commands(std::move(batch), 10s);
    co_return results[1];
  }());
  ASSERT_EQ(read_back.type, reply_type::bulk_string);
  EXPECT_EQ(read_back.text.size(), value.size());
  EXPECT_TRUE(read_back.text == value);
}

TEST_F(RedisConnection, TimeoutBreaksConnectionAndLoopStaysResponsive) {
  struct outcome {
    std::optional<errc> blocked_error;
    std::string blocked_message;
    bool seen_blocked_by_server = false;
    bool blpop_finished_before_check = true;
    reply ping_while_blocked;
    bool blocked_healthy = true;
    bool other_healthy = false;
    std::optional<errc> reuse_error;
  };

  // One thread runs everything: if BLPOP blocked it, the second connection
  // could not run CLIENT LIST and PING while BLPOP waits.
  const auto result = io_.run([&]() -> asio::awaitable<outcome> {
    outcome seen;
    auto blocked = co_await open();
    auto other = co_await open();
    command_args client_id{"CLIENT", "ID"};
    const auto blocked_id = (co_await blocked->command(std::move(client_id), 2s)).as_integer("CLIENT ID");
    bool blpop_finished = false;

    auto run_blpop = [&]() -> asio::awaitable<void> {
      command_args blpop{"BLPOP", prefix_ + ":never-pushed", "30"};
      try {
        co_await blocked->command(std::move(blpop), 2000ms);
      } catch (const error& e) {
        seen.blocked_error = e.code_value();
        seen.blocked_message = e.what();
      }
      blpop_finished = true;
    };

    auto observe = [&]() -> asio::awaitable<void> {
      // Redis registers the blocked client within a round trip or two; each
      // check is a real round trip, so no sleep is needed.
      for (int round = 0; round < 1000 && !seen.seen_blocked_by_server; ++round) {
        command_args list{"CLIENT", "LIST", "ID", std::to_string(blocked_id)};
        const reply listed = co_await other->command(std::move(list), 2s);
        seen.seen_blocked_by_server = listed.as_string("CLIENT LIST").find("cmd=blpop") != std::string::npos;
      }
      seen.blpop_finished_before_check = blpop_finished;
      command_args ping{"PING"};
      seen.ping_while_blocked = co_await other->command(std::move(ping), 2s);
    };

    const auto executor = co_await asio::this_coro::executor;
    co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, run_blpop(), asio::deferred),
                                                     asio::co_spawn(executor, observe(), asio::deferred))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);

    seen.blocked_healthy = blocked->healthy();
    seen.other_healthy = other->healthy();
    seen.reuse_error = co_await code_of([&]() -> asio::awaitable<void> {
      command_args ping{"PING"};
      co_await blocked->command(std::move(ping), 2s);
    });
    co_return seen;
  }());

  EXPECT_TRUE(result.seen_blocked_by_server) << "Redis never showed the BLPOP client as blocked";
  EXPECT_FALSE(result.blpop_finished_before_check) << "the check ran only after BLPOP had finished";
  EXPECT_EQ(result.ping_while_blocked, reply::make_status("PONG"));
  ASSERT_TRUE(result.blocked_error);
  EXPECT_EQ(*result.blocked_error, errc::timeout);
  EXPECT_NE(result.blocked_message.find("BLPOP timed out after 2000 ms"), std::string::npos) << result.blocked_message;
  EXPECT_FALSE(result.blocked_healthy);
  EXPECT_TRUE(result.other_healthy);
  EXPECT_EQ(result.reuse_error, errc::unavailable);
}

TEST_F(RedisConnection, ConcurrentUseIsRejected) {
  const auto [first, second] = io_.run([&]() -> asio::awaitable<std::pair<std::string, std::string>> {
    auto conn = co_await open();
    std::string first_result;
    std::string second_result;
    auto slow = [&]() -> asio::awaitable<void> {
      command_args blpop{"BLPOP", prefix_ + ":empty", "0.2"};
      const reply timed_out = co_await conn->command(std::move(blpop), 5s);
      first_result = to_string(timed_out.type);
    };
    auto intruder = [&]() -> asio::awaitable<void> {
      try {
        command_args ping{"PING"};
        co_await conn->command(std::move(ping), 5s);
        second_result = "accepted";
      } catch (const std::logic_error& e) {
        second_result = e.what();
      }
    };
    const auto executor = co_await asio::this_coro::executor;
    co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, slow(), asio::deferred),
                                                     asio::co_spawn(executor, intruder(), asio::deferred))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    co_return std::pair{first_result, second_result};
  }());
  EXPECT_EQ(first, "nil") << "BLPOP on an empty list returns nil after its timeout";
  EXPECT_NE(second.find("two coroutines"), std::string::npos) << second;
}

TEST_F(RedisConnection, SelectsDatabaseFromUrl) {
  redis_url other_db = url_;
  other_db.db = url_.db == 3 ? 4 : 3;
  const std::string key = prefix_ + ":db";
  const auto [in_other, in_default] = io_.run([&]() -> asio::awaitable<std::pair<reply, reply>> {
    auto selected = co_await open(other_db);
    auto default_db = co_await open();
    std::vector<command_args> write{{"SET", key, "here"}, {"GET", key}};
    auto written = co_await selected->commands(std::move(write), 2s);
    command_args get{"GET", key};
    auto missing = co_await default_db->command(std::move(get), 2s);
    command_args del{"DEL", key};
    co_await selected->command(std::move(del), 2s);
    co_return std::pair{written[1], missing};
  }());
  EXPECT_EQ(in_other, reply::make_bulk("here"));
  EXPECT_EQ(in_default.type, reply_type::nil);
}

TEST_F(RedisConnection, InvalidDatabaseIsServerError) {
  redis_url bad = url_;
  bad.db = 99999;
  try {
    io_.run(open(bad));
    FAIL() << "SELECT 99999 was accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.code_value(), errc::server_error);
    EXPECT_NE(std::string(e.what()).find("SELECT 99999 failed"), std::string::npos) << e.what();
  }
}

TEST_F(RedisConnection, RefusedConnectIsUnavailable) {
  redis_url closed_port = url_;
  closed_port.host = "127.0.0.1";
  closed_port.port = testing::free_port();
  try {
    io_.run(open(closed_port));
    FAIL() << "connected to a port nobody listens on";
  } catch (const error& e) {
    EXPECT_EQ(e.code_value(), errc::unavailable);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(closed_port.port)), std::string::npos)
        << e.what();
  }
}

TEST_F(RedisConnection, RefreshStatusSeesServerClose) {
  const auto [before, after] = io_.run([&]() -> asio::awaitable<std::pair<bool, bool>> {
    auto victim = co_await open();
    auto killer = co_await open();
    command_args client_id{"CLIENT", "ID"};
    const auto id = (co_await victim->command(std::move(client_id), 2s)).as_integer("CLIENT ID");
    const bool healthy_before = victim->refresh_status();
    command_args kill{"CLIENT", "KILL", "ID", std::to_string(id)};
    const reply killed = co_await killer->command(std::move(kill), 2s);
    EXPECT_EQ(killed, reply::make_integer(1));
    // Redis closes the socket before it replies to CLIENT KILL, so the end
    // of the stream is already on its way when the reply arrives.
    const bool healthy_after = victim->refresh_status();
    co_return std::pair{healthy_before, healthy_after};
  }());
  EXPECT_TRUE(before);
  EXPECT_FALSE(after);
}

// A server on loopback that accepts one connection, reads the first bytes
// and sends `response`, or sends nothing when it is empty. With
// `close_after`, it then closes the connection.
class fake_server {
 public:
  fake_server(asio::io_context& io, std::string response, bool close_after)
      : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        socket_(io),
        response_(std::move(response)),
        close_after_(close_after) {
    asio::co_spawn(io, serve(), asio::detached);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::awaitable<void> serve() {
    try {
      co_await acceptor_.async_accept(socket_, asio::use_awaitable);
      std::array<char, 1024> buffer{};
      co_await socket_.async_read_some(asio::buffer(buffer), asio::use_awaitable);
      if (!response_.empty()) co_await asio::async_write(socket_, asio::buffer(response_), asio::use_awaitable);
      if (close_after_) {
        socket_.close();
        co_return;
      }
      co_await socket_.async_read_some(asio::buffer(buffer), asio::use_awaitable);
    } catch (const boost::system::system_error&) {
      // The client closed the connection: the test is over.
    }
  }

  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket socket_;
  std::string response_;
  bool close_after_ = false;
};

class FakeServer : public ::testing::Test {
 protected:
  errc connect_error(const std::string& response, std::string* message = nullptr, bool close_after = false) {
    io_runner io(1);
    fake_server server(io.context(), response, close_after);
    redis_url url;
    url.host = "127.0.0.1";
    url.port = server.port();
    errc code{};
    try {
      io.run([&]() -> asio::awaitable<void> {
        co_await connection::connect(co_await asio::this_coro::executor, url, 300ms);
      }());
    } catch (const error& e) {
      if (message != nullptr) *message = e.what();
      code = e.code_value();
    }
    io.stop();  // Before the server goes away, so its coroutine never runs on freed members.
    return code;
  }
};

TEST_F(FakeServer, SilentServerTimesOut) {
  std::string message;
  EXPECT_EQ(connect_error("", &message), errc::timeout);
  EXPECT_NE(message.find("timed out after"), std::string::npos) << message;
}

TEST_F(FakeServer, NonRedisServerIsProtocolError) {
  EXPECT_EQ(connect_error("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), errc::protocol_error);
}

TEST_F(FakeServer, ExtraReplyIsProtocolError) {
  std::string message;
  EXPECT_EQ(connect_error("+OK\r\n+OK\r\n", &message), errc::protocol_error);
  EXPECT_NE(message.find("more replies"), std::string::npos) << message;
}

TEST_F(FakeServer, ServerClosingMidReplyIsUnavailable) {
  std::string message;
  EXPECT_EQ(connect_error("$10\r\nabc", &message, true), errc::unavailable);
  EXPECT_NE(message.find("lost during SELECT"), std::string::npos) << message;
}

}  // namespace
}  // namespace todo::queue
