#include "db/result.hpp"

#include "db/error.hpp"

#include <charconv>
#include <cstring>
#include <string>

namespace todo::db {

namespace {

void check_field(const PGresult* handle, int row, int column) {
  if (handle == nullptr || row < 0 || column < 0 || row >= PQntuples(handle) ||
      column >= PQnfields(handle)) {
    throw error(errc::query_failed,
                "no field at row " + std::to_string(row) + ", column " + std::to_string(column));
  }
}

}  // namespace

std::int64_t result::affected_rows() const {
  if (!handle_) return 0;
  const char* text = PQcmdTuples(handle_.get());
  if (text == nullptr || *text == '\0') return 0;  // Not an INSERT, UPDATE, DELETE, ...
  std::int64_t value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc{} || ptr != end) {
    throw error(errc::query_failed, std::string("unexpected affected row count \"") + text + "\"");
  }
  return value;
}

std::string_view result::text(int row, int column) const {
  check_field(handle_.get(), row, column);
  return {PQgetvalue(handle_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(handle_.get(), row, column))};
}

std::int64_t result::integer(int row, int column) const {
  const std::string_view value = text(row, column);
  if (is_null(row, column)) {
    throw error(errc::query_failed,
                "NULL where an integer was expected at column " + std::to_string(column));
  }
  std::int64_t number = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) {
    throw error(errc::query_failed, "not an integer at column " + std::to_string(column) + ": \"" +
                                        std::string(value.substr(0, 64)) + "\"");
  }
  return number;
}

bool result::boolean(int row, int column) const {
  const std::string_view value = text(row, column);
  if (is_null(row, column)) {
    throw error(errc::query_failed,
                "NULL where a boolean was expected at column " + std::to_string(column));
  }
  if (value == "t") return true;
  if (value == "f") return false;
  throw error(errc::query_failed, "not a boolean at column " + std::to_string(column) + ": \"" +
                                      std::string(value.substr(0, 64)) + "\"");
}

}  // namespace todo::db
