#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace todo::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    std::cerr << "integration tests need " << name << "; run them with scripts/test.sh, which starts "
              << "PostgreSQL and sets it\n";
    std::abort();
  }
  return value;
}

unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string http_result::header(const std::string& name) const {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = headers.find(lower);
  return it == headers.end() ? std::string() : it->second;
}

boost::json::value http_result::json() const {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << "response body is not JSON: " << body;
  return value;
}

http_result http_request(unsigned short port, const std::string& method, const std::string& target,
                         const std::string& body, const std::map<std::string, std::string>& headers,
                         std::chrono::milliseconds timeout, const std::string& source_address) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http_result result;
  beast::error_code ec;

  if (!source_address.empty()) {
    stream.socket().open(tcp::v4());
    stream.socket().bind(tcp::endpoint(asio::ip::make_address(source_address), 0));
  }
  stream.expires_after(timeout);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    ADD_FAILURE() << "connect to port " << port << " failed: " << ec.message();
    return result;
  }

  beast::http::request<beast::http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(beast::http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") req.prepare_payload();

  auto finished = std::make_shared<bool>(false);
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(method == "HEAD");

  beast::http::async_write(stream, req, [&](beast::error_code write_ec, std::size_t) {
    if (write_ec) {
      ec = write_ec;
      return;
    }
    beast::http::async_read(stream, buffer, parser, [&](beast::error_code read_ec, std::size_t) {
      ec = read_ec;
      *finished = true;
    });
  });
  io.run();

  if (ec || !*finished) {
    ADD_FAILURE() << method << " " << target << " failed: " << ec.message();
    return result;
  }
  const auto& response = parser.get();
  result.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto& slot = result.headers[name];
    if (!slot.empty()) slot += ", ";
    slot += std::string(field.value());
  }
  result.body = response.body();
  return result;
}

web_process::web_process(environment extra_env, process_kind kind) {
  port_ = free_port();
  const bool is_web = kind == process_kind::web;
  std::map<std::string, std::string> environment{
      {"DATABASE_URL", required_env("TODO_TEST_APP_DATABASE_URL")},
      {"REDIS_URL", required_env("TODO_TEST_REDIS_URL")},
      {is_web ? "PORT" : "METRICS_PORT", std::to_string(port_)},
      {"BIND_ADDRESS", "127.0.0.1"},
      {"STATIC_DIR", std::string(TODO_SOURCE_DIR) + "/static"},
      {"LOG_LEVEL", "DEBUG"},
      {"WEB_THREADS", "2"},
      {"DB_POOL_SIZE", "4"},
      {"DB_TIMEOUT_MS", "1500"},
      {"SHUTDOWN_TIMEOUT_S", "5"},
      {"APP_ENV", "test"},
  };
  for (auto& [name, value] : extra_env) environment[name] = value;

  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");

  pid_ = ::fork();
  if (pid_ == 0) {
    // Dies with the test process, even when a test aborts, so no service
    // outlives the run and holds its output pipe open.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    for (const auto& [name, value] : environment) ::setenv(name.c_str(), value.c_str(), 1);
    if (is_web) {
      ::execl(TODO_WEB_BINARY, "todo-web", nullptr);
    } else {
      ::execl(TODO_WORKER_BINARY, "todo-worker", nullptr);
    }
    std::perror("exec");
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  reader_ = std::thread([this, fd = pipe_fds[0]] { read_output(fd); });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      throw std::runtime_error("todo-web exited during start with status " + std::to_string(exit_status_));
    }
    asio::io_context io;
    tcp::socket probe(io);
    boost::system::error_code ec;
    probe.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    if (!ec) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a port that is not open yet
  }
  throw std::runtime_error("todo-web did not listen on port " + std::to_string(port_) + " within 30 s");
}

web_process::~web_process() {
  if (exit_status_ < 0 && pid_ > 0) stop(SIGKILL);
  if (reader_.joinable()) reader_.join();
}

void web_process::read_output(int fd) {
  std::ofstream copy;
  if (const char* output = std::getenv("TODO_TEST_OUTPUT")) {
    copy.open(std::string(output) + "/process-" + std::to_string(port_) + ".log");
  }
  std::string pending;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (copy) copy << line << '\n';
      std::lock_guard lock(mutex_);
      lines_.push_back(std::move(line));
    }
  }
  if (!pending.empty()) {
    std::lock_guard lock(mutex_);
    lines_.push_back(pending);
  }
  ::close(fd);
}

int web_process::stop(int signal_number, std::chrono::seconds timeout) {
  if (exit_status_ >= 0) return exit_status_;
  ::kill(pid_, signal_number);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "todo-web did not exit within " << timeout.count() << " s of signal " << signal_number;
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child process
  }
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (reader_.joinable()) reader_.join();
  return exit_status_;
}

std::vector<std::string> web_process::log_lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::vector<boost::json::object> web_process::logs_where(const std::string& field, const std::string& value) const {
  std::vector<boost::json::object> matches;
  for (const auto& line : log_lines()) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(line, ec);
    if (ec || !parsed.is_object()) continue;
    const auto& object = parsed.as_object();
    const auto* found = object.if_contains(field);
    if (found != nullptr && found->is_string() && found->as_string() == value) matches.push_back(object);
  }
  return matches;
}

bool web_process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& line : log_lines()) {
      if (line.find(text) != std::string::npos) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling captured output
  }
  return false;
}

http_result web_process::request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::map<std::string, std::string>& headers) const {
  return http_request(port_, method, target, body, headers);
}

http_result web_process::post_json(const std::string& target, const std::string& json,
                                   std::map<std::string, std::string> headers) const {
  headers.emplace("Content-Type", "application/json");
  return request("POST", target, json, headers);
}

http_result web_process::post_form(const std::string& target, const std::string& form,
                                   std::map<std::string, std::string> headers) const {
  headers.emplace("Content-Type", "application/x-www-form-urlencoded");
  return request("POST", target, form, headers);
}

std::string web_process::raw(const std::string& bytes, std::chrono::milliseconds timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  std::string received;
  stream.expires_after(timeout);
  beast::error_code ec;
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  if (ec) {
    ADD_FAILURE() << "connect failed: " << ec.message();
    return received;
  }
  char buffer[4096];
  std::function<void(beast::error_code, std::size_t)> on_read = [&](beast::error_code read_ec, std::size_t n) {
    received.append(buffer, n);
    if (read_ec) return;
    stream.async_read_some(asio::buffer(buffer), on_read);
  };
  asio::async_write(stream, asio::buffer(bytes), [&](beast::error_code write_ec, std::size_t) {
    if (write_ec) return;
    stream.async_read_some(asio::buffer(buffer), on_read);
  });
  io.run();
  return received;
}

sql_session::sql_session(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    ADD_FAILURE() << "test database connection failed: " << PQerrorMessage(conn_);
  }
}

sql_session::~sql_session() { PQfinish(conn_); }

std::vector<std::string> sql_session::column(const std::string& sql) {
  std::vector<std::string> values;
  PGresult* result = PQexec(conn_, sql.c_str());
  const auto status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    ADD_FAILURE() << "SQL failed: " << sql << ": " << PQresultErrorMessage(result);
  }
  for (int row = 0; row < PQntuples(result); ++row) values.emplace_back(PQgetvalue(result, row, 0));
  PQclear(result);
  return values;
}

void sql_session::exec(const std::string& sql) { column(sql); }

web_process& shared_web() {
  static web_process instance;
  return instance;
}

std::unique_ptr<web_process> start_worker(web_process::environment extra_env) {
  web_process::environment environment{
      {"JOB_VISIBILITY_TIMEOUT_S", "3"},
      {"JOB_RETRY_BASE_MS", "100"},
      {"WORKER_CONCURRENCY", "2"},
      {"DB_TIMEOUT_MS", "10000"},
  };
  for (auto& [name, value] : extra_env) environment[name] = value;
  return std::make_unique<web_process>(environment, process_kind::worker);
}

void run_env_command(const char* variable) {
  const std::string command = required_env(variable) + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

void reset_todos() {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("TRUNCATE todos RESTART IDENTITY");
}

void pg_ctl(const std::string& action) {
  const std::string command =
      required_env("TODO_TEST_PG_CTL") + " -D " + required_env("TODO_TEST_PGDATA") + " -w -t 60 " + action + " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace todo::testing
