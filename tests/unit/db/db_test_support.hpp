#pragma once

// Helpers shared by the db tests that need a real PostgreSQL 15.
//
// Environment:
//   TODO_TEST_DATABASE_URL  libpq URL of a server the tests may create tables
//                           and databases in (required: tests fail without it).
//   TODO_TEST_PG_CTL        command prefix that runs pg_ctl as the server's
//                           owner, e.g. "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl"
//   TODO_TEST_PGDATA        that server's data directory
//   (the last two only for the test that stops and restarts the server)

#include "db/pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace todo_test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

inline std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

/// Rebuilds a libpq URL or conninfo as "key='value' ..." with `overrides`
/// applied (an empty value removes the key).
inline std::string with_params(const std::string& conninfo,
                               const std::vector<std::pair<std::string, std::string>>& overrides) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &message);
  if (message != nullptr) PQfreemem(message);
  if (options == nullptr) throw std::runtime_error("TODO_TEST_DATABASE_URL is not a valid libpq connection string");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr && *option->val != '\0') pairs.emplace_back(option->keyword, option->val);
  }
  PQconninfoFree(options);
  for (const auto& [key, value] : overrides) {
    bool found = false;
    for (auto& pair : pairs) {
      if (pair.first == key) {
        pair.second = value;
        found = true;
      }
    }
    if (!found) pairs.emplace_back(key, value);
  }
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (value.empty()) continue;
    out += key + "='";
    for (char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += "' ";
  }
  return out;
}

/// A blocking libpq session for the test's own side (holding locks,
/// terminating backends, creating databases); never the code under test.
class blocking_session {
 public:
  explicit blocking_session(const std::string& conninfo) : handle_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(handle_) != CONNECTION_OK) {
      std::string message = PQerrorMessage(handle_);
      PQfinish(handle_);
      handle_ = nullptr;
      throw std::runtime_error("test session cannot connect: " + message);
    }
  }
  ~blocking_session() {
    if (handle_ != nullptr) PQfinish(handle_);
  }
  blocking_session(const blocking_session&) = delete;
  blocking_session& operator=(const blocking_session&) = delete;

  /// Runs SQL and returns the first column of the first row ("" if none).
  std::string exec(const std::string& sql) {
    PGresult* result = PQexec(handle_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = PQresultErrorMessage(result);
      PQclear(result);
      throw std::runtime_error("test session: " + sql + ": " + message);
    }
    std::string value;
    if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
    PQclear(result);
    return value;
  }

  /// Terminates a backend and waits until it is gone.
  void terminate_backend(long pid) {
    exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    for (int i = 0; i < 200; ++i) {
      if (exec("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)) == "0") {
        std::this_thread::sleep_for(50ms);  // let the closed socket reach the client
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("backend did not exit");
  }

 private:
  PGconn* handle_;
};

/// Fixture for tests that need PostgreSQL: fails (never skips) when
/// TODO_TEST_DATABASE_URL is unset.
class pg_test : public ::testing::Test {
 protected:
  void SetUp() override {
    url = env_or_empty("TODO_TEST_DATABASE_URL");
    if (url.empty()) {
      GTEST_FAIL() << "TODO_TEST_DATABASE_URL is not set. The db tests need a PostgreSQL 15 server, "
                      "for example TODO_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:55401/postgres";
    }
  }

  /// A name unique to this process, for tables and databases.
  static std::string unique_name(const std::string& prefix) {
    static int counter = 0;
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  }

  std::string url;
  asio::io_context io;
};

/// Runs `task` on `io` from the calling thread until it finishes, then
/// returns its value or rethrows its exception. Other work on `io` (such as a
/// pool's background reconnect) is left pending.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> value;
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    failure = e;
    if (!e) value.emplace(std::move(v));
    done = true;
  });
  io.restart();
  while (!done && io.run_one() != 0) {
  }
  if (!done) throw std::runtime_error("io_context ran out of work before the task finished");
  if (failure) std::rethrow_exception(failure);
  return std::move(*value);
}

inline void run(asio::io_context& io, asio::awaitable<void> task) {
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  io.restart();
  while (!done && io.run_one() != 0) {
  }
  if (!done) throw std::runtime_error("io_context ran out of work before the task finished");
  if (failure) std::rethrow_exception(failure);
}

inline asio::awaitable<void> sleep_for(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

/// Milliseconds since `start`.
inline long long elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

/// Runs `f` and returns the db::error it throws; fails the test if it does not.
template <typename F>
std::optional<todo::db::error> catch_db_error(F&& f) {
  try {
    f();
  } catch (const todo::db::error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected db::error, got: " << e.what();
    return std::nullopt;
  }
  ADD_FAILURE() << "expected db::error, nothing was thrown";
  return std::nullopt;
}

}  // namespace todo_test
