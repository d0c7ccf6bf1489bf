#include "queue/connection.hpp"

#include "queue/deadline.hpp"
#include "queue/error.hpp"
#include "obs/log.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <sys/socket.h>
#include <optional>

namespace todo::queue {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view logger = "todo.queue";

std::atomic<std::uint64_t> next_connection_id{1};

// Names a batch for messages by its first command only, because arguments
// may contain a password (AUTH) or job data and never appear in messages or logs.
std::string describe(const std::vector<command_args>& batch) {
  std::string text = batch.front().front();
  if (batch.size() > 1) text += " and " + std::to_string(batch.size() - 1) + " more";
  return text;
}

bool is_cancellation(const boost::system::system_error& failure) {
  return failure.code() == asio::error::operation_aborted;
}

}  // namespace

struct connection::impl {
  explicit impl(asio::any_io_executor executor) : socket(std::move(executor)) {}

  void close() noexcept {
    broken = true;
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  asio::awaitable<void> open_socket(const redis_url& url) {
    // An IP literal skips the resolver.
    // NOTE: Asio runs getaddrinfo on a private thread and cannot cancel it, so
    // a host name whose DNS lookup hangs can keep connect() waiting past its timeout.
    boost::system::error_code not_an_address;
    const auto address = asio::ip::make_address(url.host, not_an_address);
    if (!not_an_address) {
      co_await socket.async_connect(tcp::endpoint(address, url.port), asio::use_awaitable);
    } else {
      tcp::resolver resolver(socket.get_executor());
      const auto endpoints =
          co_await resolver.async_resolve(url.host, std::to_string(url.port), asio::use_awaitable);
      co_await asio::async_connect(socket, endpoints, asio::use_awaitable);
    }
    socket.set_option(tcp::no_delay(true));
    socket.set_option(asio::socket_base::keep_alive(true));
  }

  asio::awaitable<std::vector<reply>> exchange(std::string payload, std::size_t expected) {
    co_await asio::async_write(socket, asio::buffer(payload), asio::use_awaitable);

    std::vector<reply> replies;
    replies.reserve(expected);
    for (;;) {
      while (replies.size() < expected) {
        auto next = reader.next();
        if (!next) break;
        replies.push_back(std::move(*next));
      }
      if (replies.size() == expected) break;

      const std::size_t received = co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
      reader.feed(buffer.data(), received);
    }

    // Redis sends exactly one reply per command, so more bytes mean the
    // stream is out of step with our commands.
    if (reader.buffered_bytes() != 0) {
      throw error(errc::protocol_error, "Redis sent more replies than commands were sent");
    }
    co_return replies;
  }

  /// Sends `payload` and reads `expected` replies before the deadline. Any
  /// failure breaks the connection.
  asio::awaitable<std::vector<reply>> round_trip(std::string payload, std::size_t expected,
                                                 std::chrono::milliseconds timeout, const std::string& command_name) {
    if (broken) throw error(errc::unavailable, "the Redis connection was closed after an earlier failure");
    if (busy) throw std::logic_error("queue::connection is used by two coroutines at once");
    busy = true;
    struct busy_guard {
      bool& flag;
      ~busy_guard() { flag = false; }
    } guard{busy};

    std::optional<std::vector<reply>> replies;
    try {
      replies = co_await run_with_deadline(exchange(std::move(payload), expected), timeout);
    } catch (const error& failure) {
      close();
      obs::log_warning(logger, {}, "Redis connection broken",
                       {{"connection_id", id}, {"command", command_name}, {"error", failure.what()}});
      throw;
    } catch (const boost::system::system_error& failure) {
      close();
      if (is_cancellation(failure)) throw;
      obs::log_debug(logger, {}, "Redis connection lost",
                     {{"connection_id", id}, {"command", command_name}, {"error", failure.code().message()}});
      throw error(errc::unavailable, "Redis connection to " + endpoint + " lost during " + command_name + ": " +
                                         failure.code().message());
    } catch (...) {
      close();  // Such as std::bad_alloc: the replies on the way can no longer be matched.
      throw;
    }

    if (!replies) {
      close();
      const auto budget = static_cast<long long>(timeout.count());
      obs::log_warning(logger, {}, "Redis command timed out",
                       {{"connection_id", id}, {"command", command_name}, {"timeout_ms", budget}});
      throw error(errc::timeout, "Redis command " + command_name + " timed out after " + std::to_string(budget) + " ms");
    }
    co_return std::move(*replies);
  }

  tcp::socket socket;
  reply_reader reader;
  std::array<char, 16 * 1024> buffer{};
  std::uint64_t id = next_connection_id.fetch_add(1, std::memory_order_relaxed);
  std::string endpoint;  // "host:port/db", for messages
  bool broken = false;
  bool busy = false;
};

namespace {

// Checks the AUTH and SELECT replies of the handshake, AUTH first, because
// a failed AUTH also fails the SELECT after it.
void check_handshake(const redis_url& url, const std::vector<reply>& replies) {
  std::size_t next = 0;
  if (!url.password.empty()) {
    const reply& auth = replies[next++];
    if (auth.is_error()) {
      const std::string user = url.username.empty() ? "the default user" : "user '" + url.username + "'";
      throw error(errc::server_error, "Redis at " + url.endpoint() + " rejected the password for " + user +
                                          ": " + auth.text);
    }
  }

  const reply& select = replies[next];
  if (select.is_error() && select.text.starts_with("NOAUTH")) {
    throw error(errc::server_error, "Redis at " + url.endpoint() +
                                        " requires a password, but the URL has none: " + select.text);
  }
  if (select.is_error()) throw error_from_reply(select, "SELECT " + std::to_string(url.db));
}

}  // namespace

connection::connection(asio::any_io_executor executor) : impl_(std::make_unique<impl>(std::move(executor))) {}

connection::~connection() = default;

asio::awaitable<std::unique_ptr<connection>> connection::connect(asio::any_io_executor executor,
                                                                 const redis_url& url,
                                                                 std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  std::unique_ptr<connection> conn(new connection(executor));
  impl& state = *conn->impl_;
  state.endpoint = url.endpoint();

  bool opened = false;
  try {
    opened = co_await run_with_deadline(state.open_socket(url), timeout);
  } catch (const boost::system::system_error& failure) {
    state.close();
    if (is_cancellation(failure)) throw;
    throw error(errc::unavailable,
                "connecting to Redis at " + state.endpoint + " failed: " + failure.code().message());
  }
  if (!opened) {
    state.close();
    throw error(errc::timeout, "connecting to Redis at " + state.endpoint + " timed out after " +
                                   std::to_string(timeout.count()) + " ms");
  }

  std::vector<command_args> handshake;
  if (!url.password.empty() && url.username.empty()) handshake.push_back({"AUTH", url.password});
  if (!url.password.empty() && !url.username.empty()) {
    handshake.push_back({"AUTH", url.username, url.password});
  }
  handshake.push_back({"SELECT", std::to_string(url.db)});

  // The handshake gets what is left of the connect budget, and its timeout
  // is reported as a connect timeout with the whole budget.
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  std::vector<reply> replies;
  try {
    replies = co_await conn->commands(std::move(handshake), std::max(remaining, std::chrono::milliseconds(1)));
  } catch (const error& failure) {
    if (failure.code_value() != errc::timeout) throw;
    const std::string steps = url.password.empty() ? "SELECT" : "AUTH and SELECT";
    throw error(errc::timeout, "connecting to Redis at " + state.endpoint + " timed out after " +
                                   std::to_string(timeout.count()) + " ms before Redis answered " + steps);
  }
  check_handshake(url, replies);

  obs::log_debug(logger, {}, "Redis connection opened",
                 {{"connection_id", state.id}, {"endpoint", state.endpoint}});
  co_return conn;
}

asio::awaitable<reply> connection::command(command_args args, std::chrono::milliseconds timeout) {
  std::vector<command_args> batch;
  batch.push_back(std::move(args));
  auto replies = co_await commands(std::move(batch), timeout);
  co_return std::move(replies.front());
}

asio::awaitable<std::vector<reply>> connection::commands(std::vector<command_args> batch,
                                                         std::chrono::milliseconds timeout) {
  if (batch.empty()) co_return std::vector<reply>{};

  std::string payload;
  for (const auto& args : batch) payload += encode_command(args);
  const std::string command_name = describe(batch);
  co_return co_await impl_->round_trip(std::move(payload), batch.size(), timeout, command_name);
}

bool connection::healthy() const noexcept { return !impl_->broken && impl_->socket.is_open(); }

bool connection::refresh_status() noexcept {
  impl& state = *impl_;
  if (!healthy()) return false;

  // A zero-length peek means the server closed the connection, and any byte
  // is a reply that no command requested. Only "would block" means idle.
  char byte = 0;
  ssize_t peeked = -1;
  do {
    peeked = ::recv(state.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (peeked < 0 && errno == EINTR);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;

  state.close();
  obs::log_debug(logger, {}, "idle Redis connection was closed by the server",
                 {{"connection_id", state.id}, {"endpoint", state.endpoint}});
  return false;
}

void connection::close() noexcept { impl_->close(); }

std::uint64_t connection::id() const noexcept { return impl_->id; }

}  // namespace todo::queue
