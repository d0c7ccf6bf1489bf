// Faults around todo-web: a table lock held elsewhere, PostgreSQL restarting
// under traffic, SIGTERM with requests in flight, and the shutdown delay.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <set>

namespace todo::testing {
namespace {

using namespace std::chrono_literals;

// Waits until PostgreSQL shows `count` sessions blocked on a lock.
bool wait_for_lock_waiters(sql_session& observer, int count) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto waiting = observer.column(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
    if (std::stoi(waiting.at(0)) >= count) return true;
    std::this_thread::sleep_for(20ms);  // polling pg_stat_activity
  }
  return false;
}

TEST(Resilience, TableLockDoesNotBlockOtherRequests) {
  reset_todos();
  web_process& web = shared_web();
  sql_session locker(required_env("TODO_TEST_APP_DATABASE_URL"));
  sql_session observer(required_env("TODO_TEST_APP_DATABASE_URL"));
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE todos IN ACCESS EXCLUSIVE MODE");

  // More blocked requests than the server has threads (2) and pool connections (4).
  std::vector<std::future<http_result>> blocked;
  for (int i = 0; i < 8; ++i) {
    blocked.push_back(std::async(std::launch::async, [&web] { return web.get("/api/todos"); }));
  }
  ASSERT_TRUE(wait_for_lock_waiters(observer, 1));

  auto health = web.get("/healthz");
  EXPECT_EQ(health.status, 200);
  // The pool is busy, not down: the replica stays ready.
  auto ready = web.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  const std::string database_check(ready.json().at("checks").at("database").as_string());
  EXPECT_TRUE(database_check == "busy" || database_check == "ok") << database_check;
  auto css = web.get("/static/app.css");
  EXPECT_EQ(css.status, 200);
  int still_waiting = 0;
  for (auto& request : blocked) {
    if (request.wait_for(0s) != std::future_status::ready) ++still_waiting;
  }
  EXPECT_GT(still_waiting, 0) << "the blocked requests should still be waiting on the lock";

  // DB_TIMEOUT_MS is 1500 in these tests, so every blocked request ends in a 503.
  for (auto& request : blocked) {
    auto response = request.get();
    EXPECT_EQ(response.status, 503) << response.body;
    EXPECT_FALSE(response.header("Retry-After").empty());
  }
  locker.exec("ROLLBACK");

  auto after = web.get("/api/todos");
  EXPECT_EQ(after.status, 200) << after.body;
}

TEST(Resilience, PostgresRestartMidTraffic) {
  reset_todos();
  web_process& web = shared_web();
  ASSERT_EQ(web.post_json("/api/todos", R"({"text": "survives restart"})").status, 201);

  std::atomic<bool> running{true};
  std::set<int> statuses;
  std::mutex statuses_mutex;
  std::thread traffic([&] {
    while (running) {
      auto response = http_request(web.port(), "GET", "/api/todos", "", {}, 10s);
      std::lock_guard lock(statuses_mutex);
      statuses.insert(response.status);
      if (response.status == 503) EXPECT_FALSE(response.header("Retry-After").empty());
    }
  });

  std::this_thread::sleep_for(300ms);  // some traffic before the stop
  pg_ctl("stop -m fast");

  auto while_down = web.get("/api/todos");
  EXPECT_EQ(while_down.status, 503) << while_down.body;
  EXPECT_EQ(web.get("/readyz").status, 503);
  EXPECT_EQ(web.get("/healthz").status, 200);

  pg_ctl("start -l /dev/null");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int ready = 0;
  while (std::chrono::steady_clock::now() < deadline && (ready = web.get("/readyz").status) != 200) {
    std::this_thread::sleep_for(100ms);  // polling readiness while the pool reconnects
  }
  running = false;
  traffic.join();

  EXPECT_EQ(ready, 200) << "the pool did not reconnect within 30 s";
  for (int status : statuses) EXPECT_TRUE(status == 200 || status == 503) << "unexpected status " << status;
  auto todos = web.get("/api/todos");
  ASSERT_EQ(todos.status, 200);
  EXPECT_EQ(todos.json().as_array().at(0).at("text").as_string(), "survives restart");
}

TEST(Resilience, SigtermFinishesRequestsInFlight) {
  reset_todos();
  web_process web(web_process::environment{{"DB_TIMEOUT_MS", "10000"}, {"SHUTDOWN_TIMEOUT_S", "8"}});
  sql_session locker(required_env("TODO_TEST_APP_DATABASE_URL"));
  sql_session observer(required_env("TODO_TEST_APP_DATABASE_URL"));
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE todos IN ACCESS EXCLUSIVE MODE");

  std::vector<std::future<http_result>> in_flight;
  for (int i = 0; i < 3; ++i) {
    in_flight.push_back(std::async(std::launch::async, [&web, i] {
      return web.post_json("/api/todos", "{\"text\": \"in flight " + std::to_string(i) + "\"}");
    }));
  }
  // All three must be inside the server before SIGTERM closes the listener:
  // the first waits for the table lock, the others for the advisory lock.
  ASSERT_TRUE(wait_for_lock_waiters(observer, 3));

  std::future<int> exit_code = std::async(std::launch::async, [&web] { return web.stop(SIGTERM); });
  ASSERT_TRUE(web.wait_for_log("shutdown requested", 5s));
  locker.exec("ROLLBACK");

  for (auto& request : in_flight) {
    auto response = request.get();
    EXPECT_EQ(response.status, 201) << response.body;
  }
  EXPECT_EQ(exit_code.get(), 0);
  sql_session check(required_env("TODO_TEST_APP_DATABASE_URL"));
  EXPECT_EQ(check.column("SELECT count(*) FROM todos").at(0), "3");
  EXPECT_TRUE(web.wait_for_log("todo-web stopped", 1s));
}

TEST(Resilience, SigtermWhenIdleExitsZero) {
  web_process web;
  EXPECT_EQ(web.get("/healthz").status, 200);
  EXPECT_EQ(web.stop(SIGINT), 0);
}

TEST(Resilience, ShutdownDelayFailsHealthChecksFirst) {
  web_process web(web_process::environment{{"SHUTDOWN_DELAY_S", "2"}});
  ASSERT_EQ(web.get("/healthz").status, 200);
  const auto signalled = std::chrono::steady_clock::now();
  std::future<int> exit_code = std::async(std::launch::async, [&web] { return web.stop(SIGTERM); });
  ASSERT_TRUE(web.wait_for_log("failing health checks before draining", 5s));

  auto health = web.get("/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.json().at("status").as_string(), "draining");
  EXPECT_EQ(web.get("/readyz").status, 503);
  // Everything else is served as before until the delay ends.
  EXPECT_EQ(web.get("/api/todos").status, 200);

  EXPECT_EQ(exit_code.get(), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 2s);
  EXPECT_TRUE(web.wait_for_log("shutdown requested, draining requests", 1s));
  EXPECT_TRUE(web.wait_for_log("todo-web stopped", 1s));
}

TEST(Resilience, SecondSignalEndsShutdownDelay) {
  web_process web(web_process::environment{{"SHUTDOWN_DELAY_S", "60"}});
  ASSERT_EQ(::kill(web.pid(), SIGTERM), 0);
  ASSERT_TRUE(web.wait_for_log("failing health checks before draining", 5s));

  const auto second = std::chrono::steady_clock::now();
  EXPECT_EQ(web.stop(SIGTERM), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - second, 10s);
  EXPECT_TRUE(web.wait_for_log("second signal, ending the shutdown delay", 1s));
}

}  // namespace
}  // namespace todo::testing
