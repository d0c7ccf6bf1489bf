#include "queue/client.hpp"

#include "queue/error.hpp"
#include "redis_test_support.hpp"
#include "reply_printer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

namespace todo::queue {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::io_runner;

struct failure_info {
  std::optional<errc> code;
  std::string message;
};

// Runs one command and returns the queue::error it throws, if any.
asio::awaitable<failure_info> command_failure(client& redis, command_args args) {
  failure_info info;
  try {
    co_await redis.command(std::move(args));
  } catch (const error& e) {
    info.code = e.code_value();
    info.message = e.what();
  }
  co_return info;
}

asio::awaitable<failure_info> acquire_failure(client& redis) {
  failure_info info;
  try {
    co_await redis.acquire();
  } catch (const error& e) {
    info.code = e.code_value();
    info.message = e.what();
  }
  co_return info;
}

asio::awaitable<reply> increment(std::shared_ptr<client> redis, std::string key) {
  command_args incr{"INCR", std::move(key)};
  co_return co_await redis->command(std::move(incr));
}

// Records the availability changes that the client reports. Create it with
// attach(): the callback shares ownership, because it may still run on an
// io_context thread when the test is done with the log.
class availability_log {
 public:
  static std::shared_ptr<availability_log> attach(client& redis) {
    auto log = std::make_shared<availability_log>();
    redis.on_availability_change([log](bool available) { log->record(available); });
    return log;
  }

  void record(bool available) {
    {
      std::lock_guard lock(mutex_);
      changes_.push_back(available);
    }
    changed_.notify_all();
  }

  /// Waits until `count` changes were reported; false after the hang guard.
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, testing::hang_guard, [&] { return changes_.size() >= count; });
  }

  std::vector<bool> changes() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<bool> changes_;
};

class RedisClient : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto url = testing::env_value("TODO_TEST_REDIS_URL");
    if (!url) GTEST_FAIL() << testing::missing_redis_message();
    url_ = parse_redis_url(*url);
    prefix_ = testing::unique_prefix(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  std::shared_ptr<client> make_client(std::size_t size, std::chrono::milliseconds timeout = 2s) {
    return make_client(url_, size, timeout);
  }

  std::shared_ptr<client> make_client(redis_url url, std::size_t size, std::chrono::milliseconds timeout = 2s) {
    client_options options;
    options.url = std::move(url);
    options.size = size;
    options.timeout = timeout;
    auto created = client::create(io_.executor(), std::move(options));
    clients_.push_back(created);
    return created;
  }

  void TearDown() override {
    for (auto& created : clients_) created->close();
    io_.stop();
  }

  redis_url url_;
  std::string prefix_;
  io_runner io_{2};
  std::vector<std::shared_ptr<client>> clients_;
};

TEST_F(RedisClient, RejectsInvalidOptions) {
  client_options options;
  options.size = 0;
  EXPECT_THROW(client::create(io_.executor(), options), std::invalid_argument);
  options.size = 1;
  options.timeout = 0ms;
  EXPECT_THROW(client::create(io_.executor(), options), std::invalid_argument);
}

TEST_F(RedisClient, PingReturnsTrue) {
  auto redis = make_client(1);
  EXPECT_TRUE(io_.run(redis->ping()));
}

TEST_F(RedisClient, ManyCoroutinesShareSmallPool) {
  constexpr int calls = 200;
  auto redis = make_client(3, 20s);
  const std::string key = prefix_ + ":counter";

  // A coroutine that outlives this statement must own its arguments, so it
  // is a function with value parameters rather than a capturing lambda.
  std::vector<std::future<reply>> results;
  for (int i = 0; i < calls; ++i) results.push_back(io_.start(increment(redis, key)));
  std::vector<std::int64_t> values;
  for (auto& result : results) values.push_back(io_runner::wait(std::move(result)).as_integer("INCR"));

  std::sort(values.begin(), values.end());
  for (int i = 0; i < calls; ++i) ASSERT_EQ(values[static_cast<std::size_t>(i)], i + 1) << "each INCR returns a distinct count";
  const auto counts = redis->stats();
  EXPECT_EQ(counts.in_use, 0u);
  EXPECT_LE(counts.idle, 3u);
  EXPECT_GE(counts.idle, 1u);
  EXPECT_EQ(counts.waiting, 0u);
  EXPECT_TRUE(counts.available);
}

TEST_F(RedisClient, AcquireTimesOutWhenPoolIsExhausted) {
  auto redis = make_client(1, 300ms);
  const auto failure = io_.run([&]() -> asio::awaitable<failure_info> {
    auto held = co_await redis->acquire();
    co_return co_await acquire_failure(*redis);
  }());
  ASSERT_TRUE(failure.code);
  EXPECT_EQ(*failure.code, errc::timeout);
  EXPECT_NE(failure.message.find("no Redis connection became free within 300 ms (pool size 1)"), std::string::npos)
      << failure.message;
  EXPECT_EQ(redis->stats().waiting, 0u) << "a waiter that timed out must leave the queue";
}

TEST_F(RedisClient, ReturnedConnectionGoesToWaiter) {
  io_runner single(1);
  client_options options;
  options.url = url_;
  options.size = 1;
  options.timeout = 10s;
  auto redis = client::create(single.executor(), options);

  struct outcome {
    std::uint64_t held_id = 0;
    std::uint64_t waiter_id = 0;
    std::size_t waiting_seen = 0;
  };
  const auto seen = single.run([&]() -> asio::awaitable<outcome> {
    outcome result;
    auto held = co_await redis->acquire();
    result.held_id = held->id();

    auto wait_for_connection = [&]() -> asio::awaitable<void> {
      auto conn = co_await redis->acquire();
      result.waiter_id = conn->id();
    };
    auto give_back = [&]() -> asio::awaitable<void> {
      // Yield until the waiter has queued; each post lets it run one step.
      for (int i = 0; i < 100 && redis->stats().waiting == 0; ++i) {
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      }
      result.waiting_seen = redis->stats().waiting;
      held = {};
    };
    const auto executor = co_await asio::this_coro::executor;
    co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, wait_for_connection(), asio::deferred),
                                                     asio::co_spawn(executor, give_back(), asio::deferred))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    co_return result;
  }());
  redis->close();

  EXPECT_EQ(seen.waiting_seen, 1u);
  EXPECT_NE(seen.held_id, 0u);
  EXPECT_EQ(seen.waiter_id, seen.held_id) << "the waiter must get the connection that was given back";
}

TEST_F(RedisClient, BrokenConnectionIsReplaced) {
  auto redis = make_client(1);
  const auto [broken_id, fresh_id, timeout_code, reply_after] =
      io_.run([&]() -> asio::awaitable<std::tuple<std::uint64_t, std::uint64_t, std::optional<errc>, reply>> {
        std::uint64_t first_id = 0;
        std::optional<errc> code;
        {
          auto conn = co_await redis->acquire();
          first_id = conn->id();
          try {
            command_args blpop{"BLPOP", prefix_ + ":empty", "10"};
            co_await conn->command(std::move(blpop), 100ms);
          } catch (const error& e) {
            code = e.code_value();
          }
        }
        auto conn = co_await redis->acquire();
        const auto second_id = conn->id();
        command_args ping{"PING"};
        auto pong = co_await conn->command(std::move(ping), 2s);
        co_return std::tuple{first_id, second_id, code, pong};
      }());
  EXPECT_EQ(timeout_code, errc::timeout);
  EXPECT_NE(broken_id, fresh_id) << "a broken connection must not be handed out again";
  EXPECT_EQ(reply_after, reply::make_status("PONG"));
  EXPECT_EQ(redis->stats().in_use, 0u);
  EXPECT_EQ(redis->stats().idle, 1u);
  EXPECT_TRUE(redis->stats().available) << "a command timeout does not mark Redis down";
}

TEST_F(RedisClient, CloseFailsWaitersAndLaterCalls) {
  auto redis = make_client(1, 30s);
  const auto [waiter_failure, later_failure] =
      io_.run([&]() -> asio::awaitable<std::pair<failure_info, failure_info>> {
        auto held = co_await redis->acquire();
        const auto executor = co_await asio::this_coro::executor;
        auto waiter = asio::co_spawn(executor, acquire_failure(*redis), asio::deferred);
        auto closer = [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 100 && redis->stats().waiting == 0; ++i) {
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
          }
          redis->close();
        };
        auto [order, waiter_error, waited, closer_error] =
            co_await asio::experimental::make_parallel_group(std::move(waiter),
                                                             asio::co_spawn(executor, closer(), asio::deferred))
                .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        held = {};
        co_return std::pair{waited, co_await acquire_failure(*redis)};
      }());
  EXPECT_EQ(waiter_failure.code, errc::shutting_down) << waiter_failure.message;
  EXPECT_EQ(later_failure.code, errc::shutting_down) << later_failure.message;
  EXPECT_EQ(redis->stats().idle, 0u) << "a connection returned after close() is closed";
  EXPECT_EQ(redis->stats().in_use, 0u);
}

TEST_F(RedisClient, WrongPasswordIsClearError) {
  const std::string password = "right-Pa55word";
  testing::redis_process secured({"--requirepass", password});
  redis_url url;
  url.host = "127.0.0.1";
  url.port = secured.port();

  url.password = "wrong-Pa55word";
  auto wrong = make_client(url, 1);
  const auto first = io_.run(command_failure(*wrong, {"PING"}));
  const auto second = io_.run(command_failure(*wrong, {"PING"}));
  ASSERT_TRUE(first.code);
  EXPECT_EQ(*first.code, errc::server_error);
  EXPECT_NE(first.message.find("rejected the password for the default user"), std::string::npos) << first.message;
  EXPECT_NE(first.message.find("WRONGPASS"), std::string::npos) << first.message;
  EXPECT_EQ(first.message.find(url.password), std::string::npos) << first.message;
  ASSERT_TRUE(second.code);
  EXPECT_EQ(*second.code, errc::unavailable) << "after a failed connect the client fails fast";
  EXPECT_NE(second.message.find("WRONGPASS"), std::string::npos) << "the reason is kept: " << second.message;
  EXPECT_EQ(second.message.find(url.password), std::string::npos) << second.message;
  wrong->close();

  url.password.clear();
  auto missing = make_client(url, 1);
  const auto no_password = io_.run(command_failure(*missing, {"PING"}));
  EXPECT_EQ(no_password.code, errc::server_error);
  EXPECT_NE(no_password.message.find("requires a password, but the URL has none"), std::string::npos)
      << no_password.message;
  missing->close();

  url.password = password;
  auto right = make_client(url, 1);
  EXPECT_TRUE(io_.run(right->ping()));

  url.username = "default";
  auto named = make_client(url, 1);
  EXPECT_TRUE(io_.run(named->ping())) << "AUTH with the user name 'default' must work too";

  url.username = "nobody";
  auto unknown_user = make_client(url, 1);
  const auto unknown = io_.run(command_failure(*unknown_user, {"PING"}));
  EXPECT_EQ(unknown.code, errc::server_error);
  EXPECT_NE(unknown.message.find("rejected the password for user 'nobody'"), std::string::npos) << unknown.message;
}

// Stops and starts the shared Redis with the shell commands in
// TODO_TEST_REDIS_STOP and TODO_TEST_REDIS_START. The test restarts Redis
// even when it fails half-way, so later tests find it running.
class RedisOutage : public RedisClient {
 protected:
  void SetUp() override {
    RedisClient::SetUp();
    if (HasFatalFailure()) return;
    stop_command_ = testing::env_value("TODO_TEST_REDIS_STOP");
    start_command_ = testing::env_value("TODO_TEST_REDIS_START");
    if (!stop_command_ || !start_command_) {
      GTEST_FAIL() << "TODO_TEST_REDIS_STOP and TODO_TEST_REDIS_START must hold shell commands that stop and "
                      "start the Redis of TODO_TEST_REDIS_URL, for example\n"
                      "  TODO_TEST_REDIS_STOP='redis-cli -p 56401 shutdown nosave'\n"
                      "  TODO_TEST_REDIS_START='redis-server --port 56401 --bind 127.0.0.1 --save \"\" "
                      "--appendonly no --daemonize yes'";
    }
  }

  void TearDown() override {
    if (stopped_) start_redis();
    RedisClient::TearDown();
  }

  void stop_redis() {
    ASSERT_EQ(std::system(stop_command_->c_str()), 0) << *stop_command_;
    stopped_ = true;
  }

  void start_redis() {
    stopped_ = false;
    ASSERT_EQ(std::system(start_command_->c_str()), 0) << *start_command_;
  }

  std::optional<std::string> stop_command_;
  std::optional<std::string> start_command_;
  bool stopped_ = false;
};

TEST_F(RedisOutage, FailsFastWhileDownAndRecoversByItself) {
  auto redis = make_client(2, 2s);
  const auto changes = availability_log::attach(*redis);
  ASSERT_TRUE(io_.run(redis->ping()));

  stop_redis();
  std::vector<failure_info> failures;
  std::vector<long long> durations_ms;
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    failures.push_back(io_.run(command_failure(*redis, {"PING"})));
    durations_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  }
  const auto while_down = redis->stats();
  const bool ping_while_down = io_.run(redis->ping());

  // Reported, not asserted: a call while Redis is down should take far less than the 2 s timeout.
  std::cout << "calls while Redis was down took " << durations_ms[0] << ", " << durations_ms[1] << " and "
            << durations_ms[2] << " ms\n";
  for (const auto& failure : failures) {
    ASSERT_TRUE(failure.code);
    EXPECT_EQ(*failure.code, errc::unavailable) << failure.message;
  }
  EXPECT_NE(failures.back().message.find("is unavailable"), std::string::npos) << failures.back().message;
  EXPECT_FALSE(while_down.available);
  EXPECT_FALSE(ping_while_down);
  ASSERT_TRUE(changes->wait_for(1));
  EXPECT_EQ(changes->changes(), std::vector<bool>{false});

  start_redis();
  ASSERT_TRUE(changes->wait_for(2)) << "the client did not report Redis back within the hang guard";
  EXPECT_EQ(changes->changes(), (std::vector<bool>{false, true}));
  EXPECT_TRUE(redis->stats().available);

  const std::string key = prefix_ + ":after";
  const auto [stored, read_back] = io_.run([&]() -> asio::awaitable<std::pair<reply, reply>> {
    command_args set{"SET", key, "back"};
    command_args get{"GET", key};
    auto first = co_await redis->command(std::move(set));
    auto second = co_await redis->command(std::move(get));
    co_return std::pair{first, second};
  }());
  EXPECT_EQ(stored, reply::make_status("OK"));
  EXPECT_EQ(read_back, reply::make_bulk("back"));
}

}  // namespace
}  // namespace todo::queue
