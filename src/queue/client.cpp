#include "queue/client.hpp"

#include "queue/backoff.hpp"
#include "queue/command_span.hpp"
#include "queue/deadline.hpp"
#include "queue/error.hpp"
#include "obs/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>

namespace todo::queue {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using signal_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

namespace {

constexpr std::string_view logger = "todo.queue";
constexpr std::chrono::milliseconds first_reconnect_delay{100};
constexpr std::chrono::milliseconds max_reconnect_delay{5000};

long long elapsed_ms(clock_type::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - since).count();
}

// One coroutine waiting in acquire() for a connection. The thread that ends
// the wait sets one outcome field under the client's lock, then sends on
// `signal`. The channel is thread-safe, so any thread may send.
struct waiter {
  explicit waiter(asio::any_io_executor executor) : signal(std::move(executor), 1) {}

  signal_channel signal;
  std::unique_ptr<connection> handed;  // a connection given back by another caller
  bool may_open = false;               // a broken connection freed its slot: open a new one in it
  std::optional<error> failure;        // Redis went down or the client closed
};

}  // namespace

struct client::state {
  state(asio::any_io_executor executor, client_options options)
      : executor(executor), options(std::move(options)), stop_signal(executor, 1) {}

  // Requires the lock. Throws for a closed client or while Redis is down.
  void check_usable() const {
    if (closed) throw error(errc::shutting_down, "the Redis client is closed");
    if (available) return;
    throw error(errc::unavailable, "Redis at " + options.url.endpoint() + " is unavailable (down for " +
                                       std::to_string(elapsed_ms(down_since)) + " ms, reconnecting): " +
                                       down_reason);
  }

  // Frees the slot of a connection that was closed or never opened. A
  // waiter, if any, inherits the slot and opens a connection in it.
  void free_slot() noexcept {
    std::shared_ptr<waiter> heir;
    {
      std::lock_guard lock(mutex);
      if (waiters.empty()) {
        --open;
        return;
      }
      heir = std::move(waiters.front());
      waiters.pop_front();
      heir->may_open = true;
    }
    heir->signal.try_send(boost::system::error_code());
  }

  void give_back(std::unique_ptr<connection> conn) noexcept {
    if (!conn->healthy()) {
      conn.reset();
      free_slot();
      return;
    }

    std::shared_ptr<waiter> next;
    {
      std::lock_guard lock(mutex);
      if (closed || !available) {
        --open;
      } else if (!waiters.empty()) {
        next = std::move(waiters.front());
        waiters.pop_front();
        next->handed = std::move(conn);
      } else {
        idle.push_back(std::move(conn));
      }
    }
    if (next) next->signal.try_send(boost::system::error_code());
    // A connection still owned here is closed by its destructor, outside the lock.
  }

  /// Opens a connection in a slot the caller has already counted in `open`.
  asio::awaitable<std::unique_ptr<connection>> open_connection(std::shared_ptr<client> owner) {
    std::optional<error> failure;
    try {
      co_return co_await connection::connect(executor, options.url, options.timeout);
    } catch (const error& connect_failure) {
      failure = connect_failure;
    } catch (...) {
      free_slot();
      throw;
    }

    mark_unavailable(failure->what(), std::move(owner));
    free_slot();
    throw *failure;
  }

  /// Waits until another caller hands over a connection or a free slot, or
  /// until `deadline`. Returns the connection, or nullptr when the caller
  /// now owns a slot to open one in.
  asio::awaitable<std::unique_ptr<connection>> wait_for_connection(std::shared_ptr<waiter> queued,
                                                                   clock_type::time_point deadline) {
    std::exception_ptr cancelled;
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (remaining.count() > 0) {
      try {
        co_await run_with_deadline(queued->signal.async_receive(asio::use_awaitable), remaining);
      } catch (const boost::system::system_error&) {
        cancelled = std::current_exception();
      }
    }

    // The outcome is read under the lock, so a connection handed over just
    // as the wait timed out is still taken instead of being lost.
    std::unique_ptr<connection> handed;
    bool may_open = false;
    std::optional<error> failure;
    {
      std::lock_guard lock(mutex);
      handed = std::move(queued->handed);
      may_open = queued->may_open;
      failure = std::move(queued->failure);
      if (!handed && !may_open && !failure) std::erase(waiters, queued);
    }

    if (cancelled) {
      if (handed) give_back(std::move(handed));
      if (may_open) free_slot();
      std::rethrow_exception(cancelled);
    }
    if (failure) throw *failure;
    if (handed || may_open) co_return std::move(handed);

    throw error(errc::timeout, "no Redis connection became free within " +
                                   std::to_string(options.timeout.count()) + " ms (pool size " +
                                   std::to_string(options.size) + ")");
  }

  // Marks Redis down after a failed connect and starts the reconnect task.
  // Idle connections are dropped, because they most likely point at the
  // same dead server, and waiting callers fail at once.
  void mark_unavailable(const std::string& reason, std::shared_ptr<client> owner) {
    std::deque<std::shared_ptr<waiter>> failed;
    std::deque<std::unique_ptr<connection>> dropped;
    std::function<void(bool)> callback;
    {
      std::lock_guard lock(mutex);
      if (closed) return;
      down_reason = reason;
      if (!available) return;

      available = false;
      down_since = clock_type::now();
      failed.swap(waiters);
      for (auto& queued : failed) {
        queued->failure.emplace(errc::unavailable, "Redis at " + options.url.endpoint() + " is unavailable: " + reason);
      }
      dropped.swap(idle);
      open -= dropped.size();
      callback = on_change;
    }

    obs::log_warning(logger, {}, "Redis unavailable, reconnecting in the background",
                     {{"endpoint", options.url.endpoint()}, {"error", reason},
                      {"failed_waiters", failed.size()}});
    for (auto& queued : failed) queued->signal.try_send(boost::system::error_code());
    dropped.clear();
    if (callback) callback(false);

    // On a strand for the reason given at run_with_deadline().
    asio::co_spawn(asio::make_strand(executor), reconnect(std::move(owner)), asio::detached);
  }

  void mark_available(std::unique_ptr<connection> conn, int attempts) {
    std::function<void(bool)> callback;
    long long down_ms = 0;
    {
      std::lock_guard lock(mutex);
      if (closed) return;
      available = true;
      down_reason.clear();
      down_ms = elapsed_ms(down_since);
      if (open < options.size) {
        idle.push_back(std::move(conn));
        ++open;
      }
      callback = on_change;
    }

    obs::log_info(logger, {}, "Redis available again",
                  {{"endpoint", options.url.endpoint()}, {"down_ms", down_ms}, {"attempts", attempts}});
    if (callback) callback(true);
  }

  static asio::awaitable<void> reconnect(std::shared_ptr<client> owner) {
    state& self = *owner->state_;
    for (int attempt = 1;; ++attempt) {
      const auto delay = capped_backoff(attempt, first_reconnect_delay, max_reconnect_delay);
      try {
        const bool stopped = co_await run_with_deadline(self.stop_signal.async_receive(asio::use_awaitable), delay);
        if (stopped) co_return;
      } catch (const boost::system::system_error&) {
        co_return;  // The io_context is stopping.
      }

      try {
        auto conn = co_await connection::connect(self.executor, self.options.url, self.options.timeout);
        self.mark_available(std::move(conn), attempt);
        co_return;
      } catch (const error& failure) {
        {
          std::lock_guard lock(self.mutex);
          if (self.closed) co_return;
          self.down_reason = failure.what();
        }
        const auto next_delay = capped_backoff(attempt + 1, first_reconnect_delay, max_reconnect_delay);
        obs::log_debug(logger, {}, "Redis reconnect failed",
                       {{"endpoint", self.options.url.endpoint()}, {"attempt", attempt},
                        {"next_delay_ms", static_cast<long long>(next_delay.count())}, {"error", failure.what()}});
      } catch (const boost::system::system_error&) {
        co_return;  // Cancelled: the io_context is stopping.
      } catch (const std::exception& failure) {
        // Anything else would end this detached task silently and leave the
        // client down for good, so it is logged and retried like a failed connect.
        obs::log_error(logger, {}, "Redis reconnect failed unexpectedly",
                       {{"endpoint", self.options.url.endpoint()}, {"attempt", attempt}, {"error", failure.what()}});
      }
    }
  }

  asio::any_io_executor executor;
  const client_options options;

  mutable std::mutex mutex;
  std::deque<std::unique_ptr<connection>> idle;
  std::deque<std::shared_ptr<waiter>> waiters;
  std::size_t open = 0;  // idle, in use, or being opened
  bool available = true;
  bool closed = false;
  std::string down_reason;
  clock_type::time_point down_since;
  std::function<void(bool)> on_change;

  signal_channel stop_signal;  // wakes the reconnect task when the client closes
};

pooled_connection::pooled_connection(std::shared_ptr<client> owner, std::unique_ptr<connection> conn)
    : owner_(std::move(owner)), connection_(std::move(conn)) {}

pooled_connection& pooled_connection::operator=(pooled_connection&& other) noexcept {
  if (this == &other) return *this;
  release();
  owner_ = std::move(other.owner_);
  connection_ = std::move(other.connection_);
  return *this;
}

pooled_connection::~pooled_connection() { release(); }

void pooled_connection::release() noexcept {
  if (owner_ && connection_) owner_->give_back(std::move(connection_));
  owner_.reset();
  connection_.reset();
}

client::client(asio::any_io_executor executor, client_options options)
    : state_(std::make_unique<state>(std::move(executor), std::move(options))) {}

client::~client() = default;

std::shared_ptr<client> client::create(asio::any_io_executor executor, client_options options) {
  if (options.size == 0) throw std::invalid_argument("the Redis pool size must be at least 1");
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("the Redis timeout must be positive");
  }

  obs::log_info(logger, {}, "Redis client created",
                {{"endpoint", options.url.endpoint()}, {"pool_size", options.size},
                 {"timeout_ms", static_cast<long long>(options.timeout.count())}});
  return std::shared_ptr<client>(new client(std::move(executor), std::move(options)));
}

asio::awaitable<pooled_connection> client::acquire() {
  auto self = shared_from_this();
  state& s = *state_;
  const auto deadline = clock_type::now() + s.options.timeout;
  const auto executor = co_await asio::this_coro::executor;

  for (;;) {
    std::unique_ptr<connection> reused;
    std::shared_ptr<waiter> queued;
    bool open_new = false;
    {
      std::lock_guard lock(s.mutex);
      s.check_usable();
      if (!s.idle.empty()) {
        reused = std::move(s.idle.back());
        s.idle.pop_back();
      } else if (s.open < s.options.size) {
        ++s.open;
        open_new = true;
      } else {
        queued = std::make_shared<waiter>(executor);
        s.waiters.push_back(queued);
      }
    }

    if (reused) {
      if (reused->refresh_status()) co_return pooled_connection(self, std::move(reused));
      s.give_back(std::move(reused));  // Frees its slot, or hands the slot to a waiter.
      continue;
    }

    if (queued) {
      auto handed = co_await s.wait_for_connection(queued, deadline);
      if (handed) co_return pooled_connection(self, std::move(handed));
      open_new = true;  // The waker passed its slot on to us.
    }

    if (open_new) co_return pooled_connection(self, co_await s.open_connection(self));
  }
}

asio::awaitable<reply> client::command(command_args args) {
  co_return co_await command(std::move(args), state_->options.timeout);
}

asio::awaitable<reply> client::command(command_args args, std::chrono::milliseconds timeout) {
  auto conn = co_await acquire();
  co_return co_await conn->command(std::move(args), timeout);
}

asio::awaitable<reply> client::command(command_args args, const obs::trace_parent& trace) {
  if (!trace) co_return co_await command(std::move(args), state_->options.timeout);
  std::vector<command_args> one;
  one.push_back(std::move(args));
  auto replies = co_await commands(std::move(one), trace);
  co_return std::move(replies.front());
}

asio::awaitable<std::vector<reply>> client::commands(std::vector<command_args> batch, const obs::trace_parent& trace) {
  auto span = start_command_span(trace, batch, state_->options.url);
  try {
    auto conn = co_await acquire();
    auto replies = co_await conn->commands(std::move(batch), state_->options.timeout);
    for (const auto& answer : replies) {
      if (answer.type == reply_type::error) {
        record_command_failure(span, "redis_error", answer.text);
        break;
      }
    }
    co_return replies;
  } catch (const error& failure) {
    record_command_failure(span, failure.code_value() == errc::timeout ? "timeout" : "unavailable", failure.what());
    throw;
  }
}

asio::awaitable<bool> client::ping() {
  try {
    command_args ping_command{"PING"};
    const reply pong = co_await command(std::move(ping_command));
    co_return pong.type == reply_type::status && pong.text == "PONG";
  } catch (const error& failure) {
    obs::log_debug(logger, {}, "Redis ping failed",
                   {{"endpoint", state_->options.url.endpoint()}, {"error", failure.what()}});
  }
  co_return false;
}

client_stats client::stats() const {
  std::lock_guard lock(state_->mutex);
  client_stats counts;
  counts.idle = state_->idle.size();
  counts.in_use = state_->open - counts.idle;
  counts.waiting = state_->waiters.size();
  counts.available = state_->available;
  return counts;
}

std::chrono::milliseconds client::timeout() const noexcept { return state_->options.timeout; }

void client::on_availability_change(std::function<void(bool available)> callback) {
  std::lock_guard lock(state_->mutex);
  state_->on_change = std::move(callback);
}

void client::close() {
  state& s = *state_;
  std::deque<std::shared_ptr<waiter>> failed;
  std::deque<std::unique_ptr<connection>> dropped;
  {
    std::lock_guard lock(s.mutex);
    if (s.closed) return;
    s.closed = true;
    failed.swap(s.waiters);
    for (auto& queued : failed) queued->failure.emplace(errc::shutting_down, "the Redis client is closed");
    dropped.swap(s.idle);
    s.open -= dropped.size();
  }

  s.stop_signal.try_send(boost::system::error_code());
  for (auto& queued : failed) queued->signal.try_send(boost::system::error_code());
  dropped.clear();
  obs::log_info(logger, {}, "Redis client closed", {{"endpoint", s.options.url.endpoint()}});
}

void client::give_back(std::unique_ptr<connection> conn) noexcept { state_->give_back(std::move(conn)); }

}  // namespace todo::queue
