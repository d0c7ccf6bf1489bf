// db::connection against a real PostgreSQL (TODO_TEST_DATABASE_URL).
#include "db/connection.hpp"
#include "db/error.hpp"

#include "db_test_support.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

namespace {

using namespace todo_test;
using todo::db::connection;
using todo::db::errc;

class DbConnection : public pg_test {
 protected:
  std::unique_ptr<connection> connect(std::chrono::milliseconds statement_timeout = 0ms,
                                      const std::string& conninfo = {}) {
    return run(io, connection::connect(io.get_executor(), conninfo.empty() ? url : conninfo, 5000ms,
                                       statement_timeout));
  }

  todo::db::result query(connection& conn, std::string_view sql, const todo::db::params& parameters = {},
                         std::chrono::milliseconds timeout = 5000ms) {
    return run(io, conn.query(sql, parameters, timeout));
  }
};

TEST_F(DbConnection, QueryWithParametersAndNulls) {
  auto conn = connect();
  ASSERT_TRUE(conn->healthy());
  EXPECT_TRUE(conn->idle_in_transaction_block());

  auto row = query(*conn, "SELECT $1::int8 + 1, $2::text IS NULL, $2::text, $3::text, $4::bool",
                   {"41", std::nullopt, std::string("it's \"quoted\" \\ ünïcode"), "true"});
  ASSERT_EQ(row.rows(), 1);
  ASSERT_EQ(row.columns(), 5);
  EXPECT_EQ(row.integer(0, 0), 42);
  EXPECT_TRUE(row.boolean(0, 1));
  EXPECT_TRUE(row.is_null(0, 2));
  EXPECT_EQ(row.text(0, 3), "it's \"quoted\" \\ ünïcode");
  EXPECT_TRUE(row.boolean(0, 4));

  auto none = query(*conn, "SELECT 1 WHERE false");
  EXPECT_EQ(none.rows(), 0);
}

TEST_F(DbConnection, AffectedRowsAndSeveralStatementsThroughExecute) {
  auto conn = connect();
  run(io, conn->execute("CREATE TEMP TABLE numbers (n int8 PRIMARY KEY); INSERT INTO numbers VALUES (1), (2), (3)",
                        5000ms));
  EXPECT_EQ(query(*conn, "UPDATE numbers SET n = n + 10 WHERE n >= $1", {"2"}).affected_rows(), 2);
  EXPECT_EQ(query(*conn, "DELETE FROM numbers WHERE n = $1", {"99"}).affected_rows(), 0);
  EXPECT_EQ(query(*conn, "INSERT INTO numbers VALUES ($1), ($2)", {"20", "21"}).affected_rows(), 2);
  EXPECT_EQ(query(*conn, "SELECT count(*) FROM numbers").integer(0, 0), 5);
}

TEST_F(DbConnection, ServerErrorsGiveQueryFailedWithSqlstate) {
  auto conn = connect();

  auto bad_text = catch_db_error([&] { query(*conn, "SELECT $1::int4", {"not a number"}); });
  ASSERT_TRUE(bad_text);
  EXPECT_EQ(bad_text->code_value(), errc::query_failed);
  EXPECT_EQ(bad_text->sqlstate(), "22P02");
  EXPECT_NE(bad_text->detail().find("invalid input syntax"), std::string::npos) << bad_text->detail();
  EXPECT_FALSE(bad_text->is_transient());

  run(io, conn->execute("CREATE TEMP TABLE uniques (id int PRIMARY KEY)", 5000ms));
  query(*conn, "INSERT INTO uniques VALUES ($1)", {"1"});
  auto duplicate = catch_db_error([&] { query(*conn, "INSERT INTO uniques VALUES ($1)", {"1"}); });
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->code_value(), errc::query_failed);
  EXPECT_EQ(duplicate->sqlstate(), "23505");

  auto syntax = catch_db_error([&] { query(*conn, "SELEKT 1"); });
  ASSERT_TRUE(syntax);
  EXPECT_EQ(syntax->sqlstate(), "42601");

  auto in_execute = catch_db_error([&] { run(io, conn->execute("SELECT 1; SELECT 1/0; SELECT 2", 5000ms)); });
  ASSERT_TRUE(in_execute);
  EXPECT_EQ(in_execute->code_value(), errc::query_failed);
  EXPECT_EQ(in_execute->sqlstate(), "22012");

  // Server errors leave the connection usable.
  EXPECT_TRUE(conn->healthy());
  EXPECT_TRUE(conn->idle_in_transaction_block());
  EXPECT_EQ(query(*conn, "SELECT $1::int4", {"5"}).integer(0, 0), 5);
}

TEST_F(DbConnection, PreparesEachStatementOncePerConnection) {
  auto conn = connect();
  const std::string sql = "SELECT $1::int8 * 2";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(query(*conn, sql, {std::to_string(i)}).integer(0, 0), i * 2);

  auto prepared = query(*conn, "SELECT name FROM pg_prepared_statements WHERE statement = $1", {sql});
  ASSERT_EQ(prepared.rows(), 1);
  EXPECT_EQ(prepared.text(0, 0).substr(0, 1), "s");
  auto total = query(*conn, "SELECT count(*) FROM pg_prepared_statements");
  EXPECT_EQ(total.integer(0, 0), 3);  // sql, the pg_prepared_statements lookup, and this one

  // A statement the server rejects is not cached: the next attempt prepares again.
  EXPECT_TRUE(catch_db_error([&] { query(*conn, "SELECT * FROM no_such_table_yet"); }));
  run(io, conn->execute("CREATE TEMP TABLE no_such_table_yet (a int)", 5000ms));
  EXPECT_EQ(query(*conn, "SELECT * FROM no_such_table_yet").rows(), 0);
}

TEST_F(DbConnection, SetsApplicationNameAndStatementTimeout) {
  auto conn = connect(1500ms);
  EXPECT_EQ(query(*conn, "SELECT current_setting('application_name')").text(0, 0), "todo");
  EXPECT_EQ(query(*conn, "SELECT current_setting('statement_timeout')").text(0, 0), "1500ms");

  auto custom = connect(0ms, with_params(url, {{"application_name", "custom_app"}, {"options", "-c work_mem=8MB"}}));
  EXPECT_EQ(query(*custom, "SELECT current_setting('application_name')").text(0, 0), "custom_app");
  EXPECT_EQ(query(*custom, "SELECT current_setting('work_mem')").text(0, 0), "8MB");

  auto both = connect(700ms, with_params(url, {{"options", "-c work_mem=8MB"}}));
  EXPECT_EQ(query(*both, "SELECT current_setting('work_mem')").text(0, 0), "8MB");
  EXPECT_EQ(query(*both, "SELECT current_setting('statement_timeout')").text(0, 0), "700ms");
}

TEST_F(DbConnection, ServerStatementTimeoutIsATimeoutAndKeepsTheConnection) {
  auto conn = connect(300ms);
  const auto start = std::chrono::steady_clock::now();
  auto failure = catch_db_error([&] { query(*conn, "SELECT pg_sleep(5)", {}, 5000ms); });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::timeout);
  EXPECT_EQ(failure->sqlstate(), "57014");
  EXPECT_LT(elapsed_ms(start), 3000);
  EXPECT_TRUE(conn->healthy());
  EXPECT_EQ(query(*conn, "SELECT 7").integer(0, 0), 7);
}

TEST_F(DbConnection, StatementBlockedByALockTimesOutAtTheDeadlineWithoutBlockingTheThread) {
  const std::string table = unique_name("locked");
  blocking_session holder(url);
  holder.exec("CREATE TABLE " + table + " (a int)");
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");

  auto conn = connect();  // no server-side statement_timeout: the client's deadline decides
  int ticks = 0;
  bool waiting = true;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    while (waiting) {
      co_await sleep_for(20ms);
      ++ticks;
    }
  }, asio::detached);

  const auto start = std::chrono::steady_clock::now();
  auto failure = catch_db_error([&] { query(*conn, "SELECT count(*) FROM " + table, {}, 500ms); });
  const auto took = elapsed_ms(start);
  waiting = false;
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::timeout) << failure->what();
  EXPECT_GE(took, 480);
  EXPECT_LT(took, 1500);
  // The io_context has one thread; the ticker ran while the statement waited.
  EXPECT_GE(ticks, 10);
  EXPECT_FALSE(conn->healthy());
  auto again = catch_db_error([&] { query(*conn, "SELECT 1"); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code_value(), errc::unavailable);

  holder.exec("ROLLBACK");
  holder.exec("DROP TABLE " + table);
  conn.reset();
  run(io, sleep_for(30ms));  // let the ticker finish
}

TEST_F(DbConnection, TerminatedBackendGivesUnavailable) {
  auto conn = connect();
  const long pid = static_cast<long>(query(*conn, "SELECT pg_backend_pid()").integer(0, 0));
  blocking_session admin(url);
  admin.terminate_backend(pid);

  auto failure = catch_db_error([&] { query(*conn, "SELECT 1"); });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::unavailable) << failure->what();
  EXPECT_TRUE(failure->is_transient());
  EXPECT_FALSE(conn->healthy());
}

TEST_F(DbConnection, RefreshStatusNoticesAServerThatWentAway) {
  auto conn = connect();
  EXPECT_TRUE(conn->refresh_status());
  const long pid = static_cast<long>(query(*conn, "SELECT pg_backend_pid()").integer(0, 0));
  blocking_session admin(url);
  admin.terminate_backend(pid);
  EXPECT_FALSE(conn->refresh_status());
  EXPECT_FALSE(conn->healthy());
}

TEST_F(DbConnection, CloseMakesItUnhealthy) {
  auto conn = connect();
  conn->close();
  EXPECT_FALSE(conn->healthy());
  auto failure = catch_db_error([&] { query(*conn, "SELECT 1"); });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::unavailable);
}

TEST_F(DbConnection, TransactionStateIsReported) {
  auto conn = connect();
  run(io, conn->execute("BEGIN", 5000ms));
  EXPECT_FALSE(conn->idle_in_transaction_block());
  EXPECT_FALSE(conn->in_failed_transaction());
  EXPECT_TRUE(catch_db_error([&] { query(*conn, "SELECT 1/0"); }));
  EXPECT_TRUE(conn->in_failed_transaction());
  run(io, conn->execute("ROLLBACK", 5000ms));
  EXPECT_TRUE(conn->idle_in_transaction_block());
}

TEST_F(DbConnection, RefusedConnectionGivesUnavailable) {
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }
  const auto start = std::chrono::steady_clock::now();
  auto failure = catch_db_error([&] {
    connect(0ms, "postgresql://postgres:secret-password@127.0.0.1:" + std::to_string(port) + "/postgres");
  });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::unavailable);
  EXPECT_EQ(failure->detail().find("secret-password"), std::string::npos);
  EXPECT_LT(elapsed_ms(start), 2000);
}

TEST_F(DbConnection, ServerThatNeverAnswersTimesOutConnecting) {
  // A listening socket that is never accepted: the TCP handshake completes,
  // the startup packet gets no answer.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = silent.local_endpoint().port();
  const auto start = std::chrono::steady_clock::now();
  auto failure = catch_db_error([&] {
    run(io, connection::connect(io.get_executor(),
                                "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres", 300ms));
  });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::timeout);
  EXPECT_GE(elapsed_ms(start), 280);
  EXPECT_LT(elapsed_ms(start), 2000);
}

TEST_F(DbConnection, InvalidConninfoGivesUnavailableWithoutEchoingIt) {
  auto failure = catch_db_error([&] { connect(0ms, "postgresql://user:pa%zzss@host/db"); });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::unavailable);
  EXPECT_EQ(failure->detail().find("pa%zzss"), std::string::npos);
}

}  // namespace
