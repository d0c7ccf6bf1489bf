#pragma once

#include "db/pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace todo::db {

/// One SQL migration. The name starts with its version number, such as
/// "001_create_todos.sql"; migrations run in version order.
struct migration_file {
  std::string name;
  std::string sql;
};

/// The files of migrations/, compiled into the binary by CMake.
const std::vector<migration_file>& embedded_migrations();

/// Applies every migration not yet recorded in schema_migrations, each in its
/// own transaction, while holding a PostgreSQL advisory lock, so replicas that
/// start together apply each migration once. Returns how many were applied.
boost::asio::awaitable<int> apply_migrations(pool& database, const std::vector<migration_file>& files);

}  // namespace todo::db
