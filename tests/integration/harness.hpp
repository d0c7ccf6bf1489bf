#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include <libpq-fe.h>

namespace todo::testing {

/// Returns the environment variable or fails the test run with a message
/// saying which script sets it.
std::string required_env(const char* name);

/// A TCP port on 127.0.0.1 that was free a moment ago.
unsigned short free_port();

/// A response as the client received it.
struct http_result {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; repeated headers joined by ", "
  std::string body;

  std::string header(const std::string& name) const;
  boost::json::value json() const;
};

/// Which binary a web_process runs.
enum class process_kind { web, worker };

/// One todo-web or todo-worker process with its own port and captured stdout.
class web_process {
 public:
  using environment = std::map<std::string, std::string>;

  /// Starts the binary with the test database, the test Redis and
  /// `extra_env` on a free port (PORT for the web, METRICS_PORT for the
  /// worker), then waits until the port accepts connections.
  explicit web_process(environment extra_env = {}, process_kind kind = process_kind::web);
  ~web_process();

  unsigned short port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }

  /// Sends a signal and waits for the exit status (exit code, or 128 + signal).
  int stop(int signal_number = 15, std::chrono::seconds timeout = std::chrono::seconds(20));

  /// Every line written to stdout so far.
  std::vector<std::string> log_lines() const;

  /// Lines that parse as JSON objects and whose `field` equals `value`.
  std::vector<boost::json::object> logs_where(const std::string& field, const std::string& value) const;

  /// Waits until a stdout line contains `text`; false after `timeout`.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const;

  http_result request(const std::string& method, const std::string& target, const std::string& body = {},
                      const std::map<std::string, std::string>& headers = {}) const;

  http_result get(const std::string& target) const { return request("GET", target); }
  http_result post_json(const std::string& target, const std::string& json,
                        std::map<std::string, std::string> headers = {}) const;
  http_result post_form(const std::string& target, const std::string& form,
                        std::map<std::string, std::string> headers = {}) const;

  /// Sends raw bytes on a new connection and returns everything read until
  /// the server closes it or `timeout` passes.
  std::string raw(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  void read_output(int fd);

  unsigned short port_ = 0;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// Sends one HTTP/1.1 request to 127.0.0.1:port on a new connection. A
/// non-empty `source_address` (such as 127.0.0.2) is the local address the
/// connection comes from, so the server's peer is not 127.0.0.1.
http_result http_request(unsigned short port, const std::string& method, const std::string& target,
                         const std::string& body, const std::map<std::string, std::string>& headers,
                         std::chrono::milliseconds timeout = std::chrono::seconds(15),
                         const std::string& source_address = {});

/// A blocking libpq connection for test set-up and checks (the test side may block).
class sql_session {
 public:
  explicit sql_session(const std::string& url);
  ~sql_session();

  /// Runs SQL and returns the first column of every row as text ("" for NULL). Fails the test on error.
  std::vector<std::string> column(const std::string& sql);
  void exec(const std::string& sql);

 private:
  PGconn* conn_ = nullptr;
};

/// The shared todo-web started once for the whole test executable.
web_process& shared_web();

/// A todo-worker with test settings: short visibility timeout and retry delays.
std::unique_ptr<web_process> start_worker(web_process::environment extra_env = {});

/// Runs a shell command from an environment variable (such as
/// TODO_TEST_REDIS_STOP) and fails the test when it fails.
void run_env_command(const char* variable);

/// Empties the todos table of the test database.
void reset_todos();

/// Runs the pg_ctl action ("stop -m fast", "start") on the test cluster.
void pg_ctl(const std::string& action);

}  // namespace todo::testing
