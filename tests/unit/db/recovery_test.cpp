// The pool through PostgreSQL restarts and connections that die silently.
//
// The restart tests stop and start the server named by TODO_TEST_PG_CTL and
// TODO_TEST_PGDATA:
//   $TODO_TEST_PG_CTL -D "$TODO_TEST_PGDATA" -w -t 60 -m fast stop
//   $TODO_TEST_PG_CTL -D "$TODO_TEST_PGDATA" -w -t 60 -l /dev/null restart
// ("restart" on a stopped server starts it with the options of its last
// start, so both a server configured in postgresql.conf and one started with
// pg_ctl -o come back on the same port.)
#include "db/error.hpp"
#include "db/pool.hpp"
#include "obs/log.hpp"

#include "db_test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <array>
#include <future>
#include <sstream>

namespace {

using namespace todo_test;
using todo::db::connection;
using todo::db::errc;
using todo::db::pool;
using todo::db::pool_options;

/// Stops and starts the test server; starts it again on destruction if a
/// failed assertion left it stopped.
class server_control {
 public:
  server_control() : pg_ctl_(env_or_empty("TODO_TEST_PG_CTL")), data_(env_or_empty("TODO_TEST_PGDATA")) {}
  ~server_control() {
    if (stopped_) std::system(command("-l /dev/null restart").c_str());
  }

  bool configured() const { return !pg_ctl_.empty() && !data_.empty(); }

  void stop() {
    ASSERT_EQ(std::system(command("-m fast stop").c_str()), 0) << command("-m fast stop");
    stopped_ = true;
  }
  void start() {
    ASSERT_EQ(std::system(command("-l /dev/null restart").c_str()), 0) << command("-l /dev/null restart");
    stopped_ = false;
  }

 private:
  std::string command(const std::string& action) const {
    return pg_ctl_ + " -D '" + data_ + "' -w -t 60 " + action + " >/dev/null 2>&1";
  }
  std::string pg_ctl_;
  std::string data_;
  bool stopped_ = false;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int count(const std::string& text, const std::string& needle) {
  int found = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++found;
  return found;
}

class DbRecovery : public pg_test {
 protected:
  void SetUp() override {
    pg_test::SetUp();
    if (HasFatalFailure()) return;
    if (!server.configured()) {
      GTEST_FAIL() << "TODO_TEST_PG_CTL and TODO_TEST_PGDATA are not set. This test stops and starts the "
                      "server of TODO_TEST_DATABASE_URL with `$TODO_TEST_PG_CTL -D $TODO_TEST_PGDATA ...`, e.g. "
                      "TODO_TEST_PG_CTL=\"runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl\"";
    }
  }

  /// Runs the io_context in steps until `done()` or `limit` passes.
  template <typename Predicate>
  bool wait_until(Predicate done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      run(io, sleep_for(50ms));
    }
    return true;
  }

  server_control server;
};

TEST_F(DbRecovery, StoppedServerFailsFastThenThePoolRecoversByItself) {
  char log_path[] = "/tmp/todo-db-recovery-log.XXXXXX";
  const int log_fd = ::mkstemp(log_path);
  todo::obs::stop_logging();
  todo::obs::start_logging(todo::obs::log_level::debug, log_fd);

  // trust authentication ignores the password; it is here to prove it is never logged.
  const std::string conninfo = with_params(url, {{"password", "never-log-this"}});
  auto database = pool::create(io.get_executor(), pool_options{conninfo, 3, 2000ms});
  run(io, [&]() -> asio::awaitable<void> {
    auto a = co_await database->acquire();
    auto b = co_await database->acquire();
  }());
  ASSERT_EQ(database->stats().idle, 2u);

  server.stop();
  const auto start = std::chrono::steady_clock::now();
  auto first = catch_db_error([&] { run(io, database->query("SELECT 1")); });
  ASSERT_TRUE(first);
  EXPECT_EQ(first->code_value(), errc::unavailable) << first->what();
  EXPECT_LT(elapsed_ms(start), 1500);
  EXPECT_FALSE(database->stats().available);
  for (int i = 0; i < 3; ++i) {
    const auto again_start = std::chrono::steady_clock::now();
    auto again = catch_db_error([&] { run(io, database->query("SELECT 1")); });
    ASSERT_TRUE(again);
    EXPECT_EQ(again->code_value(), errc::unavailable);
    EXPECT_LT(elapsed_ms(again_start), 250);  // no waiting: the timeout is 2000 ms
  }
  EXPECT_FALSE(run(io, database->ping()));
  run(io, sleep_for(400ms));  // a few reconnect attempts while it is down

  server.start();
  EXPECT_TRUE(wait_until([&] { return database->stats().available; }, 15s)) << "the pool did not recover";
  EXPECT_TRUE(run(io, database->ping()));
  EXPECT_EQ(run(io, database->query("SELECT $1::int4 + 1", {"1"})).integer(0, 0), 2);
  database->close();
  run(io, sleep_for(20ms));
  database.reset();

  todo::obs::stop_logging();
  todo::obs::start_logging(todo::obs::log_level::info, 1);
  todo::obs::stop_logging();
  ::close(log_fd);
  const std::string text = read_file(log_path);
  ::unlink(log_path);
  EXPECT_EQ(count(text, "\"message\":\"database unavailable"), 1) << text;
  EXPECT_EQ(count(text, "\"message\":\"database connection restored\""), 1) << text;
  EXPECT_GE(count(text, "\"message\":\"reconnecting to the database\""), 2) << text;
  EXPECT_EQ(count(text, "never-log-this"), 0) << text;
}

TEST_F(DbRecovery, IdleConnectionsThatDiedInARestartCauseNoErrors) {
  auto database = pool::create(io.get_executor(), pool_options{url, 3, 2000ms});
  run(io, [&]() -> asio::awaitable<void> {
    auto a = co_await database->acquire();
    auto b = co_await database->acquire();
    auto c = co_await database->acquire();
  }());
  ASSERT_EQ(database->stats().idle, 3u);

  server.stop();
  server.start();

  // No acquire happened while it was down, so the pool never noticed; the
  // dead idle connections must be replaced without a single error.
  EXPECT_EQ(run(io, database->query("SELECT 41 + 1")).integer(0, 0), 42);
  EXPECT_EQ(run(io, todo::db::with_transaction(*database, [](connection& conn) -> asio::awaitable<std::int64_t> {
              auto answer = co_await conn.query("SELECT 7", {}, 2000ms);
              co_return answer.integer(0, 0);
            })),
            7);
  EXPECT_TRUE(run(io, database->ping()));
  EXPECT_TRUE(database->stats().available);
}

// ---------------------------------------------------------------- silent deaths

/// A TCP proxy to the test server that can cut every open session without
/// telling the client: the server side is closed, and the client side is
/// closed only when the client next sends something (as after a network
/// partition, or a NAT that forgot the flow).
class silent_proxy {
 public:
  silent_proxy(const std::string& host, const std::string& port)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}),
        target_(asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(port))) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~silent_proxy() {
    io_.stop();
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  /// Cuts every session open now; new sessions pass through as usual.
  void cut_silently() {
    std::promise<void> done;
    asio::post(io_, [&] {
      for (auto& s : sessions_) {
        s->cut = true;
        boost::system::error_code ignored;
        s->server.close(ignored);
      }
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  struct session {
    explicit session(asio::io_context& io) : client(io), server(io) {}
    asio::ip::tcp::socket client;
    asio::ip::tcp::socket server;
    bool cut = false;
  };

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto s = std::make_shared<session>(io_);
      co_await acceptor_.async_accept(s->client, asio::use_awaitable);
      co_await s->server.async_connect(target_, asio::use_awaitable);
      sessions_.push_back(s);
      asio::co_spawn(io_, pump(s, true), asio::detached);
      asio::co_spawn(io_, pump(s, false), asio::detached);
    }
  }

  static asio::awaitable<void> pump(std::shared_ptr<session> s, bool from_client) {
    auto& in = from_client ? s->client : s->server;
    auto& out = from_client ? s->server : s->client;
    std::array<char, 16384> buffer;
    try {
      for (;;) {
        const std::size_t n = co_await in.async_read_some(asio::buffer(buffer), asio::use_awaitable);
        if (s->cut) break;
        co_await asio::async_write(out, asio::buffer(buffer.data(), n), asio::use_awaitable);
      }
    } catch (const std::exception&) {
      if (s->cut && !from_client) co_return;  // the cut itself: the client hears nothing
    }
    boost::system::error_code ignored;
    s->client.close(ignored);
    s->server.close(ignored);
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint target_;
  std::vector<std::shared_ptr<session>> sessions_;
  std::thread thread_;
};

class DbSilentDeath : public pg_test {
 protected:
  void SetUp() override {
    pg_test::SetUp();
    if (HasFatalFailure()) return;
    char* message = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
    if (message != nullptr) PQfreemem(message);
    ASSERT_NE(options, nullptr);
    std::string host = "127.0.0.1", port = "5432";
    for (auto* o = options; o->keyword != nullptr; ++o) {
      if (o->val == nullptr || *o->val == '\0') continue;
      if (std::string(o->keyword) == "hostaddr" || (std::string(o->keyword) == "host" && o->val[0] != '/')) {
        host = o->val == std::string("localhost") ? "127.0.0.1" : o->val;
      }
      if (std::string(o->keyword) == "port") port = o->val;
    }
    PQconninfoFree(options);
    proxy = std::make_unique<silent_proxy>(host, port);
    proxied_url = with_params(url, {{"host", "127.0.0.1"}, {"hostaddr", ""}, {"port", std::to_string(proxy->port())}});
  }

  std::unique_ptr<silent_proxy> proxy;
  std::string proxied_url;
};

TEST_F(DbSilentDeath, ProxyPassesTrafficAndCutsSilently) {
  auto conn = run(io, connection::connect(io.get_executor(), proxied_url, 2000ms));
  EXPECT_EQ(run(io, conn->query("SELECT 5", {}, 2000ms)).integer(0, 0), 5);
  proxy->cut_silently();
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(conn->refresh_status());  // nothing arrived: it cannot know yet
  auto failure = catch_db_error([&] { run(io, conn->query("SELECT 5", {}, 2000ms)); });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::unavailable) << failure->what();
}

TEST_F(DbSilentDeath, QueryOnASilentlyDeadIdleConnectionIsRetriedOnAFreshOne) {
  auto database = pool::create(io.get_executor(), pool_options{proxied_url, 2, 2000ms});
  run(io, [&]() -> asio::awaitable<void> {
    auto a = co_await database->acquire();
    auto b = co_await database->acquire();
  }());
  ASSERT_EQ(database->stats().idle, 2u);
  proxy->cut_silently();
  std::this_thread::sleep_for(50ms);

  EXPECT_EQ(run(io, database->query("SELECT 6")).integer(0, 0), 6);
  EXPECT_TRUE(database->stats().available);
  EXPECT_EQ(database->stats().in_use, 0u);
}

TEST_F(DbSilentDeath, TransactionOnASilentlyDeadIdleConnectionIsRetriedOnAFreshOne) {
  auto database = pool::create(io.get_executor(), pool_options{proxied_url, 2, 2000ms});
  EXPECT_TRUE(run(io, database->ping()));
  proxy->cut_silently();
  std::this_thread::sleep_for(50ms);
  const auto value = run(io, todo::db::with_transaction(*database, [](connection& conn) -> asio::awaitable<std::int64_t> {
    auto answer = co_await conn.query("SELECT 8", {}, 2000ms);
    co_return answer.integer(0, 0);
  }));
  EXPECT_EQ(value, 8);
}

TEST_F(DbSilentDeath, FreshConnectionThatDiesIsNotRetried) {
  auto database = pool::create(io.get_executor(), pool_options{proxied_url, 1, 2000ms});
  auto failure = catch_db_error([&] {
    run(io, [&]() -> asio::awaitable<void> {
      auto conn = co_await database->acquire();
      EXPECT_FALSE(conn.reused());
      proxy->cut_silently();
      co_await conn->query("SELECT 1", {}, 2000ms);
    }());
  });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::unavailable);
  // Only that connection was lost: the pool stays available and works.
  EXPECT_TRUE(database->stats().available);
  EXPECT_EQ(run(io, database->query("SELECT 2")).integer(0, 0), 2);
}

}  // namespace
