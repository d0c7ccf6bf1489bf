#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace todo::db {

/// Owns one PGresult in text format.
class result {
 public:
  result() = default;
  explicit result(PGresult* handle) : handle_(handle, &PQclear) {}

  int rows() const noexcept { return handle_ ? PQntuples(handle_.get()) : 0; }
  int columns() const noexcept { return handle_ ? PQnfields(handle_.get()) : 0; }

  /// Rows changed by INSERT, UPDATE or DELETE.
  std::int64_t affected_rows() const;

  bool is_null(int row, int column) const { return PQgetisnull(handle_.get(), row, column) != 0; }
  std::string_view text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  /// PostgreSQL's text form of a boolean is "t" or "f".
  bool boolean(int row, int column) const;

 private:
  std::shared_ptr<PGresult> handle_;
};

}  // namespace todo::db
