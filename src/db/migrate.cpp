#include "db/migrate.hpp"

#include "db/error.hpp"
#include "obs/log.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <set>
#include <string>

namespace todo::db {

namespace asio = boost::asio;

namespace {

constexpr std::string_view logger = "todo.db";

// The advisory lock that serializes migrations across replicas: "todo-mig"
// in ASCII. Any fixed number works as long as every replica uses the same.
constexpr std::int64_t migration_lock_key = 0x746f646f2d6d6967;

// Waiting for another replica to finish, and the migrations themselves, may
// take longer than an ordinary statement.
constexpr std::chrono::milliseconds migration_timeout{60000};

constexpr std::string_view create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version text PRIMARY KEY, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

/// Runs one migration and records it, in one transaction.
asio::awaitable<void> apply_one(connection& conn, const migration_file& file, std::chrono::milliseconds timeout) {
  co_await conn.execute("BEGIN", timeout);
  std::exception_ptr failure;
  try {
    co_await conn.execute(file.sql, timeout);
    // Named, not a braced list inside co_await: GCC 12 miscompiles that.
    const params version{file.name};
    co_await conn.query("INSERT INTO schema_migrations (version) VALUES ($1)", version, timeout);
    co_await conn.execute("COMMIT", timeout);
  } catch (...) {
    failure = std::current_exception();
  }
  if (!failure) co_return;
  bool rolled_back = false;
  if (conn.healthy()) {
    try {
      co_await conn.execute("ROLLBACK", timeout);
      rolled_back = conn.idle_in_transaction_block();
    } catch (...) {
    }
  }
  if (!rolled_back) conn.close();
  std::rethrow_exception(failure);
}

}  // namespace

asio::awaitable<int> apply_migrations(pool& database, const std::vector<migration_file>& files) {
  const auto timeout = database.timeout();
  const auto long_timeout = std::max(migration_timeout, timeout);
  const params lock_key{std::to_string(migration_lock_key)};
  const params no_params;

  std::vector<const migration_file*> ordered;
  ordered.reserve(files.size());
  for (const auto& file : files) ordered.push_back(&file);
  std::sort(ordered.begin(), ordered.end(),
            [](const migration_file* a, const migration_file* b) { return a->name < b->name; });

  pooled_connection conn = co_await database.acquire();
  int applied = 0;
  bool locked = false;
  std::string current;
  std::exception_ptr failure;
  try {
    // This session's statement timeout is raised for the lock wait and the
    // migrations, and reset to the connection's default below.
    co_await conn->execute("SET statement_timeout = " + std::to_string(long_timeout.count()), timeout);
    co_await conn->query("SELECT pg_advisory_lock($1::bigint)", lock_key, long_timeout);
    locked = true;

    co_await conn->execute(create_table_sql, timeout);
    const result recorded = co_await conn->query("SELECT version FROM schema_migrations", no_params, timeout);
    std::set<std::string, std::less<>> done;
    for (int row = 0; row < recorded.rows(); ++row) done.emplace(recorded.text(row, 0));

    for (const migration_file* file : ordered) {
      if (done.contains(file->name)) continue;
      current = file->name;
      const auto started = std::chrono::steady_clock::now();
      co_await apply_one(*conn, *file, long_timeout);
      ++applied;
      const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      obs::log_info(logger, {}, "applied database migration",
                    {{"migration", file->name}, {"duration_ms", static_cast<long long>(elapsed.count())}});
    }
    current.clear();
  } catch (...) {
    failure = std::current_exception();
  }

  // Release the lock on every path. When that is impossible, closing the
  // session releases it too.
  bool clean = false;
  if (conn->healthy() && conn->idle_in_transaction_block()) {
    try {
      if (locked) co_await conn->query("SELECT pg_advisory_unlock($1::bigint)", lock_key, timeout);
      co_await conn->execute("RESET statement_timeout", timeout);
      clean = true;
    } catch (...) {
    }
  }
  if (!clean) conn->close();

  if (failure) {
    std::string reason = "unknown error";
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      reason = e.what();
    } catch (...) {
    }
    obs::log_error(logger, {}, "database migration failed",
                   {{"migration", current}, {"error", reason}, {"applied", applied}});
    std::rethrow_exception(failure);
  }
  obs::log_info(logger, {}, "database migrations complete",
                {{"applied", applied}, {"known", files.size()}});
  co_return applied;
}

}  // namespace todo::db
