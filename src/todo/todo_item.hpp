#pragma once

#include <cstdint>
#include <string>

namespace todo::domain {

/// One row of the todos table.
struct todo_item {
  std::int64_t id = 0;
  std::string text;
  bool done = false;
  std::int64_t position = 0;
  std::string created_at;  // ISO-8601 UTC, as PostgreSQL formats it for the API
};

}  // namespace todo::domain
