#pragma once

// Helpers shared by the queue tests that talk to a real Redis. Header-only,
// because every *_test.cpp in this folder is compiled into one executable.

#include "queue/redis_url.hpp"

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace todo::queue::testing {

/// Upper bound for any single wait in these tests. It only stops a hung test,
/// and no test checks how long something took.
inline constexpr std::chrono::seconds hang_guard{60};

/// Returns the environment variable, or nullopt when it is unset or empty.
inline std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

/// Returns the message for a test that needs a Redis but has none.
inline std::string missing_redis_message() {
  return "TODO_TEST_REDIS_URL is not set. Start a Redis on loopback, for example\n"
         "  redis-server --port 56401 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes\n"
         "and run the tests with TODO_TEST_REDIS_URL=redis://127.0.0.1:56401/0.";
}

/// An io_context run by `threads` threads until destruction.
class io_runner {
 public:
  explicit io_runner(int threads = 1) : guard_(boost::asio::make_work_guard(context_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { context_.run(); });
  }

  ~io_runner() { stop(); }

  /// Stops the io_context and joins its threads. Safe to call twice.
  void stop() {
    guard_.reset();
    context_.stop();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  boost::asio::io_context& context() noexcept { return context_; }
  boost::asio::any_io_executor executor() { return context_.get_executor(); }

  /// Starts `operation` on a new strand of the io_context and returns its
  /// future. The strand keeps the parallel groups that tests start inside
  /// the coroutine on one thread at a time, which Boost 1.81 requires (see
  /// queue/deadline.hpp).
  template <typename T>
  std::future<T> start(boost::asio::awaitable<T> operation) {
    return boost::asio::co_spawn(boost::asio::make_strand(context_), std::move(operation), boost::asio::use_future);
  }

  /// Runs `operation` to completion and returns its result or rethrows its exception.
  template <typename T>
  T run(boost::asio::awaitable<T> operation) {
    return wait(start(std::move(operation)));
  }

  template <typename T>
  static T wait(std::future<T> future) {
    if (future.wait_for(hang_guard) != std::future_status::ready) {
      throw std::runtime_error("test operation did not finish within the hang guard");
    }
    return future.get();
  }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

/// Returns a key prefix that no other test uses, so tests can share one Redis.
inline std::string unique_prefix(std::string_view name) {
  static std::atomic<int> counter{0};
  return "todo-test:" + std::string(name) + ":" + std::to_string(::getpid()) + ":" +
         std::to_string(counter.fetch_add(1)) + ":" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
inline unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

/// A private redis-server child process on 127.0.0.1 with extra arguments,
/// such as "--requirepass". The destructor kills and reaps it.
class redis_process {
 public:
  explicit redis_process(std::vector<std::string> extra_args) : port_(free_port()) {
    std::vector<std::string> args{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());

    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(pipe_fds[1], 1);
      const int null_fd = ::open("/dev/null", O_WRONLY);
      if (null_fd >= 0) ::dup2(null_fd, 2);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    const bool ready = wait_for_ready_line(pipe_fds[0]);
    ::close(pipe_fds[0]);  // Redis ignores SIGPIPE, so its later log lines are simply lost.
    if (!ready) {
      stop();
      throw std::runtime_error("redis-server did not report \"Ready to accept connections\"");
    }
  }

  ~redis_process() { stop(); }

  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;

  unsigned short port() const noexcept { return port_; }

 private:
  // Reads the server's log until it reports that it accepts connections,
  // or until it exits or the hang guard passes.
  static bool wait_for_ready_line(int fd) {
    const auto deadline = std::chrono::steady_clock::now() + hang_guard;
    std::string output;
    char buffer[4096];
    while (output.find("Ready to accept connections") == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd descriptor{fd, POLLIN, 0};
      if (::poll(&descriptor, 1, static_cast<int>(left.count())) <= 0) return false;
      const ssize_t received = ::read(fd, buffer, sizeof buffer);
      if (received <= 0) return false;
      output.append(buffer, static_cast<std::size_t>(received));
    }
    return true;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace todo::queue::testing
