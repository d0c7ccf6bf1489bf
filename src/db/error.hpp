#pragma once

#include <string>
#include <system_error>

namespace todo::db {

/// Failures of the database layer. The HTTP layer maps the first three to
/// 503 with Retry-After, because they say PostgreSQL cannot serve right now.
enum class errc {
  /// Connecting failed or the connection broke; the pool reconnects in the background.
  unavailable = 1,
  /// A connect, a query or the wait for a pooled connection passed DB_TIMEOUT_MS.
  timeout,
  /// The pool is closing because the process is shutting down.
  shutting_down,
  /// PostgreSQL rejected the statement; sqlstate() says why. A programming
  /// error or a constraint the caller should have checked.
  query_failed,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A database failure with the operation, the server's message and, for
/// query_failed, the five-character SQLSTATE.
class error : public std::system_error {
 public:
  error(errc code, std::string detail, std::string sqlstate = {})
      : std::system_error(make_error_code(code), detail),
        detail_(std::move(detail)),
        sqlstate_(std::move(sqlstate)) {}

  errc code_value() const noexcept { return static_cast<errc>(code().value()); }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

  /// True for unavailable, timeout and shutting_down.
  bool is_transient() const noexcept { return code_value() != errc::query_failed; }

 private:
  std::string detail_;
  std::string sqlstate_;
};

}  // namespace todo::db

template <>
struct std::is_error_code_enum<todo::db::errc> : std::true_type {};
