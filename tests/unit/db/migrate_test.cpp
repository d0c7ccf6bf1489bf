// apply_migrations against a real PostgreSQL, each test in a scratch database.
#include "db/error.hpp"
#include "db/migrate.hpp"
#include "db/pool.hpp"

#include "db_test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace {

using namespace todo_test;
using todo::db::errc;
using todo::db::migration_file;
using todo::db::pool;
using todo::db::pool_options;

class DbMigrations : public pg_test {
 protected:
  void SetUp() override {
    pg_test::SetUp();
    if (HasFatalFailure()) return;
    database_name = unique_name("todo_migrate");
    blocking_session(url).exec("CREATE DATABASE " + database_name);
    scratch_url = with_params(url, {{"dbname", database_name}});
  }

  void TearDown() override {
    if (!database_name.empty()) blocking_session(url).exec("DROP DATABASE IF EXISTS " + database_name + " WITH (FORCE)");
  }

  std::shared_ptr<pool> make_pool(asio::io_context& context, std::chrono::milliseconds timeout = 5000ms) {
    return pool::create(context.get_executor(), pool_options{scratch_url, 2, timeout});
  }

  std::string scalar(const std::string& sql) { return blocking_session(scratch_url).exec(sql); }

  std::string database_name;
  std::string scratch_url;
};

TEST_F(DbMigrations, EmbeddedMigrationsApplyOnceThenNothing) {
  const auto& files = todo::db::embedded_migrations();
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front().name, "001_create_todos.sql");
  for (std::size_t i = 1; i < files.size(); ++i) EXPECT_LT(files[i - 1].name, files[i].name);

  auto database = make_pool(io);
  EXPECT_EQ(run(io, todo::db::apply_migrations(*database, files)), static_cast<int>(files.size()));
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), std::to_string(files.size()));
  EXPECT_EQ(scalar("SELECT min(version) FROM schema_migrations"), "001_create_todos.sql");
  EXPECT_EQ(scalar("SELECT to_regclass('todos') IS NOT NULL"), "t");
  EXPECT_EQ(scalar("SELECT bool_and(applied_at <= now()) FROM schema_migrations"), "t");

  EXPECT_EQ(run(io, todo::db::apply_migrations(*database, files)), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), std::to_string(files.size()));
  // The lock is released and the session's statement timeout is back to the pool's.
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), "0");
  EXPECT_EQ(run(io, database->query("SELECT current_setting('statement_timeout')")).text(0, 0), "5s");
  EXPECT_EQ(database->stats().in_use, 0u);
}

TEST_F(DbMigrations, AppliesInNameOrderWhateverTheListOrder) {
  const std::vector<migration_file> files{
      {"003_c.sql", "INSERT INTO steps VALUES (3)"},
      {"001_a.sql", "CREATE TABLE steps (n int, at timestamptz DEFAULT clock_timestamp())"},
      {"002_b.sql", "INSERT INTO steps VALUES (2)"},
  };
  auto database = make_pool(io);
  EXPECT_EQ(run(io, todo::db::apply_migrations(*database, files)), 3);
  EXPECT_EQ(scalar("SELECT string_agg(n::text, ',' ORDER BY at) FROM steps"), "2,3");

  // A later file is applied on the next run, the earlier ones are not repeated.
  auto more = files;
  more.push_back({"004_d.sql", "INSERT INTO steps VALUES (4)"});
  EXPECT_EQ(run(io, todo::db::apply_migrations(*database, more)), 1);
  EXPECT_EQ(scalar("SELECT string_agg(n::text, ',' ORDER BY at) FROM steps"), "2,3,4");
}

TEST_F(DbMigrations, TwoPoolsMigratingAtOnceApplyEachFileOnce) {
  // Each migration sleeps, so the second runner surely waits on the lock.
  const std::vector<migration_file> files{
      {"001_first.sql", "CREATE TABLE first_table (id int); SELECT pg_sleep(0.3);"},
      {"002_second.sql", "CREATE TABLE second_table (id int); INSERT INTO second_table VALUES (1); SELECT pg_sleep(0.2);"},
  };
  asio::io_context other;
  auto a = make_pool(io);
  auto b = make_pool(other);
  std::atomic<int> applied_a{-1}, applied_b{-1};
  std::atomic<int> failures{0};
  auto runner = [&](asio::io_context& context, std::shared_ptr<pool> database, std::atomic<int>& applied) {
    return std::thread([&context, database, &applied, &files, &failures] {
      asio::co_spawn(context, todo::db::apply_migrations(*database, files),
                     [&](std::exception_ptr failure, int count) {
                       if (failure) ++failures;
                       applied = count;
                     });
      context.run();
    });
  };
  std::thread first = runner(io, a, applied_a);
  std::thread second = runner(other, b, applied_b);
  first.join();
  second.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied_a + applied_b, 2) << applied_a << " + " << applied_b;
  EXPECT_TRUE((applied_a == 2 && applied_b == 0) || (applied_a == 0 && applied_b == 2))
      << applied_a << " + " << applied_b;
  EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), "2");
  EXPECT_EQ(scalar("SELECT count(*) FROM second_table"), "1");

  // A third run applies nothing.
  EXPECT_EQ(run(io, todo::db::apply_migrations(*a, files)), 0);
  a.reset();
  b.reset();
}

TEST_F(DbMigrations, FailingMigrationIsRolledBackAndTheLockReleased) {
  const std::vector<migration_file> files{
      {"001_ok.sql", "CREATE TABLE kept (id int)"},
      {"002_bad.sql", "CREATE TABLE rolled_back (id int); SELECT 1/0;"},
      {"003_never.sql", "CREATE TABLE never (id int)"},
  };
  auto database = make_pool(io);
  auto failure = catch_db_error([&] { run(io, todo::db::apply_migrations(*database, files)); });
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code_value(), errc::query_failed);
  EXPECT_EQ(failure->sqlstate(), "22012");
  EXPECT_EQ(scalar("SELECT string_agg(version, ',') FROM schema_migrations"), "001_ok.sql");
  EXPECT_EQ(scalar("SELECT to_regclass('kept') IS NOT NULL"), "t");
  EXPECT_EQ(scalar("SELECT to_regclass('rolled_back') IS NULL"), "t");
  EXPECT_EQ(scalar("SELECT to_regclass('never') IS NULL"), "t");
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), "0");
  EXPECT_EQ(database->stats().in_use, 0u);

  // Fixed, the rest applies.
  auto fixed = files;
  fixed[1].sql = "CREATE TABLE rolled_back (id int)";
  EXPECT_EQ(run(io, todo::db::apply_migrations(*database, fixed)), 2);
  EXPECT_EQ(scalar("SELECT to_regclass('never') IS NOT NULL"), "t");
}

TEST_F(DbMigrations, WaitsForTheLockLongerThanTheQueryTimeout) {
  // Another session holds the migration lock for longer than the pool's
  // timeout; apply_migrations waits for it instead of failing.
  blocking_session holder(scratch_url);
  holder.exec("SELECT pg_advisory_lock(" + std::to_string(0x746f646f2d6d6967LL) + ")");
  auto database = make_pool(io, 300ms);
  std::thread release([&] {
    std::this_thread::sleep_for(900ms);
    holder.exec("SELECT pg_advisory_unlock(" + std::to_string(0x746f646f2d6d6967LL) + ")");
  });
  const std::vector<migration_file> files{{"001_only.sql", "CREATE TABLE only_table (id int)"}};
  const auto start = std::chrono::steady_clock::now();
  int applied = -1;
  EXPECT_NO_THROW(applied = run(io, todo::db::apply_migrations(*database, files)));
  release.join();
  EXPECT_EQ(applied, 1);
  EXPECT_GE(elapsed_ms(start), 800);
  EXPECT_EQ(run(io, database->query("SELECT current_setting('statement_timeout')")).text(0, 0), "300ms");
}

}  // namespace
