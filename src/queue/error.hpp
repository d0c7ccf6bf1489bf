#pragma once

#include <string>
#include <system_error>

namespace todo::queue {

/// Failures of the queue layer. The first three mean Redis cannot serve right
/// now, so a web route responds 503 with Retry-After and a worker retries later.
enum class errc {
  /// Connecting failed, the connection broke, or the client is marked down
  /// after a failed connect; the client reconnects in the background.
  unavailable = 1,
  /// A connect, a command or the wait for a pooled connection passed its deadline.
  timeout,
  /// The client is closing because the process is shutting down.
  shutting_down,
  /// Redis returned an error reply, such as WRONGPASS or WRONGTYPE. This is a
  /// configuration or programming error, so retrying the same call fails again.
  server_error,
  /// Redis sent bytes that are not valid RESP, or a reply of an unexpected
  /// shape. The connection is discarded.
  protocol_error,
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A queue failure with a message that names the operation and, for
/// server_error, the text of Redis's error reply. Messages never contain a password.
class error : public std::system_error {
 public:
  error(errc code, std::string detail)
      : std::system_error(make_error_code(code), detail), detail_(std::move(detail)) {}

  errc code_value() const noexcept { return static_cast<errc>(code().value()); }
  const std::string& detail() const noexcept { return detail_; }

  /// Returns the detail alone, because it already names what failed. Unlike
  /// std::system_error, the category's generic text is not appended.
  const char* what() const noexcept override { return detail_.c_str(); }

  /// True for unavailable, timeout and shutting_down.
  bool is_transient() const noexcept {
    return code_value() == errc::unavailable || code_value() == errc::timeout ||
           code_value() == errc::shutting_down;
  }

 private:
  std::string detail_;
};

}  // namespace todo::queue

template <>
struct std::is_error_code_enum<todo::queue::errc> : std::true_type {};
