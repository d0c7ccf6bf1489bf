// db::pool and with_transaction against a real PostgreSQL (TODO_TEST_DATABASE_URL).
#include "db/error.hpp"
#include "db/pool.hpp"
#include "obs/log.hpp"

#include "db_test_support.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace {

using namespace todo_test;
using todo::db::connection;
using todo::db::errc;
using todo::db::pool;
using todo::db::pool_options;
using todo::db::pooled_connection;

asio::awaitable<std::int64_t> pid_of(connection& conn) {
  auto answer = co_await conn.query("SELECT pg_backend_pid()", {}, 5000ms);
  co_return answer.integer(0, 0);
}

/// Sends the process's log lines to a file for the life of the object.
class captured_log {
 public:
  captured_log() {
    char name[] = "/tmp/todo-db-test-log.XXXXXX";
    fd_ = ::mkstemp(name);
    path_ = name;
    todo::obs::stop_logging();
    todo::obs::start_logging(todo::obs::log_level::debug, fd_);
  }
  ~captured_log() {
    finish();
    ::unlink(path_.c_str());
  }

  /// Flushes and returns everything logged so far.
  std::string finish() {
    if (fd_ >= 0) {
      todo::obs::stop_logging();
      // Point the writer back at stdout before the file is closed.
      todo::obs::start_logging(todo::obs::log_level::info, 1);
      todo::obs::stop_logging();
      ::close(fd_);
      fd_ = -1;
    }
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static int count(const std::string& text, const std::string& needle) {
    int found = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++found;
    return found;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

class DbPool : public pg_test {
 protected:
  std::shared_ptr<pool> make_pool(std::size_t size, std::chrono::milliseconds timeout, std::string conninfo = {}) {
    return pool::create(io.get_executor(), pool_options{conninfo.empty() ? url : conninfo, size, timeout});
  }

  /// A URL on 127.0.0.1 where nothing listens.
  std::string refused_url() {
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = probe.local_endpoint().port();
    probe.close();
    return "postgresql://postgres:never-log-this@127.0.0.1:" + std::to_string(port) + "/postgres";
  }
};

TEST_F(DbPool, BoundsConnectionsAndHandsAReturnedOneToAWaiter) {
  auto database = make_pool(2, 3000ms);
  run(io, [&]() -> asio::awaitable<void> {
    auto first = co_await database->acquire();
    auto second = co_await database->acquire();
    EXPECT_FALSE(first.reused());
    EXPECT_EQ(database->stats().in_use, 2u);
    EXPECT_EQ(database->stats().idle, 0u);
    const auto first_pid = co_await pid_of(*first);

    bool got_one = false;
    std::int64_t waiter_pid = 0;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> {
          auto third = co_await database->acquire();
          got_one = true;
          waiter_pid = co_await pid_of(*third);
        },
        asio::detached);

    co_await sleep_for(200ms);
    EXPECT_FALSE(got_one);
    EXPECT_EQ(database->stats().waiting, 1u);
    EXPECT_EQ(database->stats().in_use, 2u);

    first = pooled_connection();  // give it back
    co_await sleep_for(100ms);
    EXPECT_TRUE(got_one);
    EXPECT_EQ(waiter_pid, first_pid);
    EXPECT_EQ(database->stats().waiting, 0u);
  }());
  const auto stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.idle, 2u);
  EXPECT_TRUE(stats.available);
}

TEST_F(DbPool, AcquireTimesOutWhileEveryConnectionIsHeld) {
  auto database = make_pool(1, 300ms);
  run(io, [&]() -> asio::awaitable<void> {
    auto held = co_await database->acquire();
    const auto start = std::chrono::steady_clock::now();
    std::optional<todo::db::error> failure;
    try {
      auto never = co_await database->acquire();
    } catch (const todo::db::error& e) {
      failure = e;
    }
    const auto took = elapsed_ms(start);
    EXPECT_TRUE(failure);
    if (failure) {
      EXPECT_EQ(failure->code_value(), errc::timeout) << failure->what();
    }
    EXPECT_GE(took, 280);
    EXPECT_LT(took, 1500);
    EXPECT_EQ(database->stats().waiting, 0u);
    EXPECT_TRUE(database->stats().available);  // a busy pool is not an unavailable one
  }());
  EXPECT_EQ(database->stats().idle, 1u);
}

TEST_F(DbPool, ManyCoroutinesOnTwoThreadsShareTheBoundedPool) {
  auto database = make_pool(3, 5000ms);
  std::atomic<int> finished{0};
  std::atomic<int> failures{0};
  std::atomic<std::size_t> most_open{0};
  constexpr int tasks = 40;
  for (int task = 0; task < tasks; ++task) {
    asio::co_spawn(
        io,
        [&, task]() -> asio::awaitable<void> {
          for (int round = 0; round < 10; ++round) {
            const std::int64_t value = task * 100 + round;
            todo::db::result answer;
            if (round % 3 == 0) {
              answer = co_await todo::db::with_transaction(
                  *database, [value](connection& conn) -> asio::awaitable<todo::db::result> {
                    const todo::db::params input{std::to_string(value)};
                    co_return co_await conn.query("SELECT $1::int8 * 2", input, 5000ms);
                  });
            } else {
              const todo::db::params input{std::to_string(value)};
              answer = co_await database->query("SELECT $1::int8 * 2", input);
            }
            if (answer.integer(0, 0) != value * 2) ++failures;
            const auto stats = database->stats();
            std::size_t open = stats.in_use + stats.idle;
            std::size_t seen = most_open.load();
            while (open > seen && !most_open.compare_exchange_weak(seen, open)) {
            }
          }
        },
        [&](std::exception_ptr failure) {
          if (failure) ++failures;
          ++finished;
        });
  }
  io.restart();
  std::thread helper([&] { io.run(); });
  io.run();
  helper.join();
  EXPECT_EQ(finished.load(), tasks);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_open.load(), 3u);
  const auto stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_LE(stats.idle, 3u);
  EXPECT_EQ(stats.waiting, 0u);
}

TEST_F(DbPool, HandoffsToWaitersOnTwoThreadsLoseNothing) {
  // Few connections, many borrowers holding them across a timer: most
  // acquires wait, and returns race with new acquires on both threads.
  auto database = make_pool(2, 10000ms);
  std::atomic<int> finished{0};
  std::atomic<int> failures{0};
  std::atomic<std::size_t> most_waiting{0};
  constexpr int tasks = 30;
  for (int task = 0; task < tasks; ++task) {
    asio::co_spawn(
        io,
        [&, task]() -> asio::awaitable<void> {
          for (int round = 0; round < 15; ++round) {
            auto conn = co_await database->acquire();
            const todo::db::params input{std::to_string(task)};
            auto answer = co_await conn->query("SELECT $1::int8", input, 5000ms);
            if (answer.integer(0, 0) != task) ++failures;
            const std::size_t waiting = database->stats().waiting;
            std::size_t seen = most_waiting.load();
            while (waiting > seen && !most_waiting.compare_exchange_weak(seen, waiting)) {
            }
            co_await sleep_for(std::chrono::milliseconds((task + round) % 3));
          }
        },
        [&](std::exception_ptr failure) {
          if (failure) ++failures;
          ++finished;
        });
  }
  io.restart();
  std::thread helper([&] { io.run(); });
  io.run();
  helper.join();
  EXPECT_EQ(finished.load(), tasks);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(most_waiting.load(), 0u);
  const auto stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.idle, 2u);
  EXPECT_EQ(stats.waiting, 0u);
}

TEST_F(DbPool, WaitTimeoutsRacingHandoffsLeakNoConnectionOrSlot) {
  auto database = make_pool(2, 150ms);
  run(io, [&]() -> asio::awaitable<void> {  // the connects are not part of the race
    auto a = co_await database->acquire();
    auto b = co_await database->acquire();
  }());
  std::atomic<int> successes{0};
  std::atomic<int> timeouts{0};
  std::atomic<int> other{0};
  constexpr int tasks = 16;
  constexpr int rounds = 10;
  for (int task = 0; task < tasks; ++task) {
    asio::co_spawn(
        io,
        [&, task]() -> asio::awaitable<void> {
          for (int round = 0; round < rounds; ++round) {
            try {
              auto conn = co_await database->acquire();
              ++successes;
              co_await sleep_for(std::chrono::milliseconds(((task + round) % 4) * 30));
            } catch (const todo::db::error& e) {
              if (e.code_value() == errc::timeout) {
                ++timeouts;
              } else {
                ++other;
              }
            }
          }
        },
        [&](std::exception_ptr failure) {
          if (failure) ++other;
        });
  }
  io.restart();
  std::thread helper([&] { io.run(); });
  io.run();
  helper.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(successes + timeouts, tasks * rounds);
  EXPECT_GT(successes.load(), 0);
  EXPECT_GT(timeouts.load(), 0);
  auto stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_LE(stats.idle, 2u);
  EXPECT_TRUE(stats.available);
  // Both slots are still usable.
  run(io, [&]() -> asio::awaitable<void> {
    auto a = co_await database->acquire();
    auto b = co_await database->acquire();
    EXPECT_EQ(database->stats().in_use, 2u);
  }());
}

TEST_F(DbPool, StatementBlockedByALockTimesOutAndTheThreadStaysResponsive) {
  const std::string table = unique_name("pool_locked");
  blocking_session holder(url);
  holder.exec("CREATE TABLE " + table + " (a int)");
  auto database = make_pool(1, 500ms);
  EXPECT_TRUE(run(io, database->ping()));

  holder.exec("BEGIN");
  holder.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
  int ticks = 0;
  bool waiting = true;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        while (waiting) {
          co_await sleep_for(20ms);
          ++ticks;
        }
      },
      asio::detached);
  const auto start = std::chrono::steady_clock::now();
  auto failure = catch_db_error([&] { run(io, database->query("SELECT count(*) FROM " + table)); });
  const auto took = elapsed_ms(start);
  waiting = false;
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::timeout) << failure->what();
  EXPECT_GE(took, 450);
  EXPECT_LT(took, 1500);
  EXPECT_GE(ticks, 10);  // one thread, and the timer kept firing during the wait
  EXPECT_EQ(database->stats().in_use, 0u);
  EXPECT_TRUE(database->stats().available);

  holder.exec("ROLLBACK");
  EXPECT_EQ(run(io, database->query("SELECT count(*) FROM " + table)).integer(0, 0), 0);
  holder.exec("DROP TABLE " + table);
  run(io, sleep_for(30ms));
}

TEST_F(DbPool, ConnectionLeftInsideATransactionIsClosedNotReused) {
  auto database = make_pool(2, 2000ms);
  run(io, [&]() -> asio::awaitable<void> {
    {
      auto conn = co_await database->acquire();
      co_await conn->execute("BEGIN", 2000ms);
    }
    EXPECT_EQ(database->stats().idle, 0u);
    EXPECT_EQ(database->stats().in_use, 0u);
    {
      auto conn = co_await database->acquire();
      EXPECT_FALSE(conn.reused());
      EXPECT_TRUE(conn->idle_in_transaction_block());
    }
    EXPECT_EQ(database->stats().idle, 1u);
  }());
}

TEST_F(DbPool, IdleConnectionKilledByTheServerIsReplacedWithoutAnError) {
  auto database = make_pool(2, 2000ms);
  const auto old_pid = run(io, database->query("SELECT pg_backend_pid()")).integer(0, 0);
  ASSERT_EQ(database->stats().idle, 1u);
  blocking_session admin(url);
  admin.terminate_backend(static_cast<long>(old_pid));

  const auto new_pid = run(io, database->query("SELECT pg_backend_pid()")).integer(0, 0);
  EXPECT_NE(new_pid, old_pid);
  EXPECT_TRUE(database->stats().available);
  EXPECT_EQ(database->stats().idle, 1u);
}

TEST_F(DbPool, TransactionOnAnIdleConnectionKilledByTheServerStillRuns) {
  auto database = make_pool(2, 2000ms);
  const auto old_pid = run(io, database->query("SELECT pg_backend_pid()")).integer(0, 0);
  blocking_session admin(url);
  admin.terminate_backend(static_cast<long>(old_pid));
  const auto pid = run(io, todo::db::with_transaction(*database, [](connection& conn) -> asio::awaitable<std::int64_t> {
    co_return co_await pid_of(conn);
  }));
  EXPECT_NE(pid, old_pid);
}

TEST_F(DbPool, UnreachableServerFailsFastWithOneWarningAndNoPassword) {
  captured_log log;
  auto database = make_pool(2, 2000ms, refused_url());
  const auto start = std::chrono::steady_clock::now();
  auto first = catch_db_error([&] { run(io, database->query("SELECT 1")); });
  ASSERT_TRUE(first);
  EXPECT_EQ(first->code_value(), errc::unavailable);
  EXPECT_LT(elapsed_ms(start), 1500);
  EXPECT_FALSE(database->stats().available);

  for (int i = 0; i < 5; ++i) {
    const auto again_start = std::chrono::steady_clock::now();
    auto again = catch_db_error([&] { run(io, database->acquire()); });
    ASSERT_TRUE(again);
    EXPECT_EQ(again->code_value(), errc::unavailable);
    EXPECT_LT(elapsed_ms(again_start), 250);  // no waiting: the timeout is 2000 ms
  }
  EXPECT_FALSE(run(io, database->ping()));

  run(io, sleep_for(450ms));  // the background task retries after 100 ms and 200 ms
  database->close();
  auto closed = catch_db_error([&] { run(io, database->acquire()); });
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code_value(), errc::shutting_down);
  run(io, sleep_for(20ms));
  database.reset();

  const std::string text = log.finish();
  EXPECT_EQ(captured_log::count(text, "\"message\":\"database unavailable"), 1) << text;
  EXPECT_EQ(captured_log::count(text, "\"level\":\"WARNING\""), 1) << text;
  EXPECT_GE(captured_log::count(text, "reconnecting to the database"), 2) << text;
  EXPECT_EQ(captured_log::count(text, "database connection restored"), 0) << text;
  EXPECT_EQ(text.find("never-log-this"), std::string::npos) << text;
  EXPECT_NE(text.find("\"logger\":\"todo.db\""), std::string::npos) << text;
}

TEST_F(DbPool, CloseFailsWaitersAndLaterAcquires) {
  auto database = make_pool(1, 3000ms);
  run(io, [&]() -> asio::awaitable<void> {
    auto held = co_await database->acquire();
    std::optional<errc> waiter_failure;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> {
          try {
            auto never = co_await database->acquire();
          } catch (const todo::db::error& e) {
            waiter_failure = e.code_value();
          }
        },
        asio::detached);
    co_await sleep_for(100ms);
    EXPECT_EQ(database->stats().waiting, 1u);
    const auto start = std::chrono::steady_clock::now();
    database->close();
    co_await sleep_for(20ms);
    EXPECT_LT(elapsed_ms(start), 500);
    EXPECT_EQ(waiter_failure, errc::shutting_down);
    try {
      auto later = co_await database->acquire();
      ADD_FAILURE() << "acquire after close succeeded";
    } catch (const todo::db::error& e) {
      EXPECT_EQ(e.code_value(), errc::shutting_down);
    }
  }());
  // The held connection was closed when returned.
  const auto stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_EQ(stats.idle, 0u);
  EXPECT_FALSE(stats.available);
}

TEST_F(DbPool, PingAndStats) {
  auto database = make_pool(4, 2000ms);
  EXPECT_TRUE(run(io, database->ping()));
  EXPECT_EQ(database->timeout(), 2000ms);
  const auto stats = database->stats();
  EXPECT_TRUE(stats.available);
  EXPECT_EQ(stats.idle, 1u);
  EXPECT_EQ(stats.in_use, 0u);
  // The server's statement_timeout follows the pool's timeout.
  EXPECT_EQ(run(io, database->query("SELECT current_setting('statement_timeout')")).text(0, 0), "2s");
}

// ---------------------------------------------------------------- with_transaction

class DbTransaction : public DbPool {
 protected:
  void SetUp() override {
    DbPool::SetUp();
    if (HasFatalFailure()) return;
    table = unique_name("tx_items");
    blocking_session(url).exec("CREATE TABLE " + table + " (id int PRIMARY KEY, label text NOT NULL)");
  }
  void TearDown() override {
    if (!table.empty()) blocking_session(url).exec("DROP TABLE IF EXISTS " + table);
  }
  // Named: a braced list inside a co_await expression trips a GCC 12 bug.
  const todo::db::params one{"1", "one"};
  const todo::db::params two{"2", "two"};
  const todo::db::params three{"3", "three"};
  const todo::db::params one_again{"1", "again"};

  std::int64_t count(pool& database) {
    return run(io, database.query("SELECT count(*) FROM " + table)).integer(0, 0);
  }
  std::string table;
};

TEST_F(DbTransaction, CommitsWhenTheBodySucceeds) {
  auto database = make_pool(2, 2000ms);
  const std::string insert = "INSERT INTO " + table + " VALUES ($1, $2)";
  const auto inserted = run(io, todo::db::with_transaction(*database, [&](connection& conn) -> asio::awaitable<int> {
    co_await conn.query(insert, one, 2000ms);
    co_await conn.query(insert, two, 2000ms);
    co_return 2;
  }));
  EXPECT_EQ(inserted, 2);
  EXPECT_EQ(count(*database), 2);

  run(io, todo::db::with_transaction(*database, [&](connection& conn) -> asio::awaitable<void> {
    co_await conn.query(insert, three, 2000ms);
  }));
  EXPECT_EQ(count(*database), 3);
  EXPECT_EQ(database->stats().in_use, 0u);
}

TEST_F(DbTransaction, RollsBackAndRethrowsWhenTheBodyThrows) {
  auto database = make_pool(2, 2000ms);
  const std::string insert = "INSERT INTO " + table + " VALUES ($1, $2)";
  try {
    run(io, todo::db::with_transaction(*database, [&](connection& conn) -> asio::awaitable<void> {
      co_await conn.query(insert, one, 2000ms);
      throw std::runtime_error("body failed");
    }));
    ADD_FAILURE() << "the body's exception was swallowed";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "body failed");
  }
  EXPECT_EQ(count(*database), 0);

  auto duplicate = catch_db_error([&] {
    run(io, todo::db::with_transaction(*database, [&](connection& conn) -> asio::awaitable<void> {
      co_await conn.query(insert, one, 2000ms);
      co_await conn.query(insert, one_again, 2000ms);
    }));
  });
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->sqlstate(), "23505");
  EXPECT_EQ(count(*database), 0);
  // The connection went back to the pool in a clean state and is reused.
  const auto stats = database->stats();
  EXPECT_EQ(stats.in_use, 0u);
  EXPECT_GE(stats.idle, 1u);
}

TEST_F(DbTransaction, SwallowedErrorInsideTheBodyDoesNotCommit) {
  auto database = make_pool(2, 2000ms);
  const std::string insert = "INSERT INTO " + table + " VALUES ($1, $2)";
  auto failure = catch_db_error([&] {
    run(io, todo::db::with_transaction(*database, [&](connection& conn) -> asio::awaitable<void> {
      co_await conn.query(insert, one, 2000ms);
      try {
        co_await conn.query("SELECT 1/0", {}, 2000ms);
      } catch (const todo::db::error&) {
      }
    }));
  });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::query_failed);
  EXPECT_EQ(failure->sqlstate(), "25P02");
  EXPECT_EQ(count(*database), 0);
}

TEST_F(DbTransaction, BodyThatTimesOutLeavesNoBrokenConnectionInThePool) {
  auto database = make_pool(1, 400ms);
  blocking_session holder(url);
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
  auto failure = catch_db_error([&] {
    run(io, todo::db::with_transaction(*database, [&](connection& conn) -> asio::awaitable<void> {
      co_await conn.query("SELECT count(*) FROM " + table, {}, 400ms);
    }));
  });
  holder.exec("ROLLBACK");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::timeout);
  EXPECT_EQ(database->stats().in_use, 0u);
  EXPECT_EQ(count(*database), 0);  // the pool still works
}

}  // namespace
