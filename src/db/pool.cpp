#include "db/pool.hpp"

#include "db/error.hpp"
#include "obs/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

namespace todo::db {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view logger = "todo.db";
constexpr std::chrono::milliseconds first_retry_delay{100};
constexpr std::chrono::milliseconds max_retry_delay{5000};

// A wake-up signal that any thread may send (concurrent_channel is
// thread-safe); one buffered message, so a send never waits.
using signal_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

// One acquire() waiting for a connection. Every field but `wake` is guarded
// by the pool's mutex; `settled` turns true exactly once, by whoever decides
// the outcome first: a giver, close(), the pool going down, or the waiter
// itself on timeout. The waiter reads the outcome under the mutex after it
// wakes, whichever of its signal or its timer woke it, so a connection handed
// over at the moment the timer fires is taken rather than lost.
struct waiter {
  explicit waiter(const asio::any_io_executor& executor) : wake(executor, 1) {}

  signal_channel wake;
  bool settled = false;
  std::unique_ptr<connection> conn;  // a returned connection, or
  bool may_open = false;             // a free slot to open a new one in, or
  std::optional<errc> failure;       // why the wait ended without either
};

void wake(const asio::any_io_executor& executor, std::shared_ptr<waiter> target) {
  // Posted rather than sent in place, so the waiter's coroutine never runs
  // inside the giver's call (a destructor, often).
  asio::post(executor, [target = std::move(target)] { target->wake.try_send(boost::system::error_code{}); });
}

}  // namespace

struct pool::state {
  state(asio::any_io_executor executor_, pool_options options_)
      : executor(std::move(executor_)),
        options(std::move(options_)),
        stop_reconnect(std::make_shared<signal_channel>(executor, 1)) {
    options.size = std::max<std::size_t>(options.size, 1);
  }

  asio::any_io_executor executor;
  pool_options options;

  mutable std::mutex mutex;
  std::vector<std::unique_ptr<connection>> idle;  // back() was returned last
  std::size_t open = 0;                           // idle + borrowed + being opened
  std::deque<std::shared_ptr<waiter>> waiters;
  bool available = true;
  bool closed = false;
  bool reconnecting = false;
  std::shared_ptr<signal_channel> stop_reconnect;

  /// Gives up one slot of `open`; a waiter, if any, gets the slot to open a
  /// connection in. Call with the mutex held; wake the returned waiter after
  /// unlocking.
  std::shared_ptr<waiter> free_slot_locked() {
    --open;
    if (closed || !available || waiters.empty() || open >= options.size) return nullptr;
    auto next = std::move(waiters.front());
    waiters.pop_front();
    next->settled = true;
    next->may_open = true;
    ++open;
    return next;
  }

  /// Closes a connection that is not coming back and frees its slot.
  void discard(std::unique_ptr<connection> conn) noexcept {
    std::shared_ptr<waiter> next;
    {
      std::lock_guard lock(mutex);
      next = free_slot_locked();
    }
    if (next) wake(executor, std::move(next));
    conn.reset();  // PQfinish outside the lock
  }

  /// Frees the slot of a connect that did not complete (cancelled).
  void abandon_slot() noexcept {
    std::shared_ptr<waiter> next;
    {
      std::lock_guard lock(mutex);
      next = free_slot_locked();
    }
    if (next) wake(executor, std::move(next));
  }
};

// ---------------------------------------------------------------- pooled_connection

pooled_connection::pooled_connection(std::shared_ptr<pool> owner, std::unique_ptr<connection> conn)
    : owner_(std::move(owner)), connection_(std::move(conn)) {}

pooled_connection& pooled_connection::operator=(pooled_connection&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::move(other.owner_);
    connection_ = std::move(other.connection_);
    reused_ = other.reused_;
  }
  return *this;
}

pooled_connection::~pooled_connection() { release(); }

void pooled_connection::release() noexcept {
  if (connection_) {
    if (owner_) {
      owner_->give_back(std::move(connection_));
    } else {
      connection_.reset();
    }
  }
  owner_.reset();
}

// ---------------------------------------------------------------- pool

pool::pool(asio::any_io_executor executor, pool_options options)
    : state_(std::make_unique<state>(std::move(executor), std::move(options))) {}

pool::~pool() {
  state_->stop_reconnect->try_send(boost::system::error_code{});
}

std::shared_ptr<pool> pool::create(asio::any_io_executor executor, pool_options options) {
  return std::shared_ptr<pool>(new pool(std::move(executor), std::move(options)));
}

std::chrono::milliseconds pool::timeout() const noexcept { return state_->options.timeout; }

pool_stats pool::stats() const {
  std::lock_guard lock(state_->mutex);
  pool_stats out;
  out.idle = state_->idle.size();
  out.in_use = state_->open - state_->idle.size();
  out.waiting = state_->waiters.size();
  out.available = state_->available && !state_->closed;
  return out;
}

void pool::give_back(std::unique_ptr<connection> conn) noexcept {
  if (!conn) return;
  conn->set_trace_parent({});
  state& s = *state_;
  const bool reusable = conn->healthy() && conn->idle_in_transaction_block();
  if (!reusable) {
    obs::log_debug(logger, {}, "discarding database connection",
                   {{"reason", conn->healthy() ? "left inside a transaction" : "broken"}});
  }
  std::shared_ptr<waiter> next;
  std::unique_ptr<connection> to_close;
  {
    std::lock_guard lock(s.mutex);
    if (!reusable || s.closed) {
      to_close = std::move(conn);
      next = s.free_slot_locked();
    } else if (!s.waiters.empty()) {
      next = std::move(s.waiters.front());
      s.waiters.pop_front();
      next->settled = true;
      next->conn = std::move(conn);
    } else {
      s.idle.push_back(std::move(conn));
    }
  }
  if (next) wake(s.executor, std::move(next));
  to_close.reset();
}

void pool::discard_idle() noexcept {
  state& s = *state_;
  std::vector<std::unique_ptr<connection>> stale;
  std::vector<std::shared_ptr<waiter>> next;
  {
    std::lock_guard lock(s.mutex);
    stale.swap(s.idle);
    for (std::size_t i = 0; i < stale.size(); ++i) {
      if (auto w = s.free_slot_locked()) next.push_back(std::move(w));
    }
  }
  for (auto& w : next) wake(s.executor, std::move(w));
  stale.clear();
}

namespace {

// The background task of an unavailable pool: connects with capped
// exponential backoff until one connect succeeds, then makes the pool
// available again. It holds the pool only weakly while it sleeps.
asio::awaitable<void> reconnect_loop(std::weak_ptr<pool> weak, std::shared_ptr<signal_channel> stop,
                                     asio::any_io_executor executor, std::string conninfo,
                                     std::chrono::milliseconds timeout,
                                     std::function<bool(std::unique_ptr<connection>)> restored) {
  auto delay = first_retry_delay;
  for (int attempt = 1;; ++attempt) {
    asio::steady_timer timer(executor, delay);
    auto [order, stop_ec, timer_ec] =
        co_await asio::experimental::make_parallel_group(stop->async_receive(asio::deferred),
                                                         timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 0 || timer_ec) co_return;  // The pool closed.
    if (weak.expired()) co_return;

    obs::log_debug(logger, {}, "reconnecting to the database",
                   {{"attempt", attempt}, {"delay_ms", static_cast<long long>(delay.count())}});
    std::unique_ptr<connection> conn;
    try {
      conn = co_await connection::connect(executor, conninfo, timeout, timeout);
    } catch (const error& failure) {
      obs::log_debug(logger, {}, "database still unavailable",
                     {{"attempt", attempt}, {"error", failure.detail()}});
    } catch (const std::exception& failure) {
      obs::log_debug(logger, {}, "database still unavailable",
                     {{"attempt", attempt}, {"error", failure.what()}});
    }
    if (!conn) {
      delay = std::min(delay * 2, max_retry_delay);
      continue;
    }
    auto self = weak.lock();
    if (!self) co_return;
    if (restored(std::move(conn))) {
      obs::log_info(logger, {}, "database connection restored", {{"attempts", attempt}});
    }
    co_return;
  }
}

}  // namespace

asio::awaitable<pooled_connection> pool::acquire() {
  auto self = shared_from_this();
  state& s = *state_;
  const auto started = clock_type::now();
  const auto deadline = started + s.options.timeout;

  // Observes the wait on every way out, a timeout included.
  struct wait_observer {
    obs::histogram* histogram;
    clock_type::time_point started;
    ~wait_observer() {
      if (histogram != nullptr) histogram->observe(std::chrono::duration<double>(clock_type::now() - started).count());
    }
  } const observe_wait{s.options.wait_seconds, started};

  for (;;) {
    std::unique_ptr<connection> candidate;
    std::shared_ptr<waiter> me;
    bool open_new = false;
    {
      std::lock_guard lock(s.mutex);
      if (s.closed) throw error(errc::shutting_down, "the database pool is closed");
      if (!s.available) throw error(errc::unavailable, "the database is unavailable; reconnecting in the background");
      if (!s.idle.empty()) {
        candidate = std::move(s.idle.back());
        s.idle.pop_back();
      } else if (s.open < s.options.size) {
        ++s.open;
        open_new = true;
      } else {
        me = std::make_shared<waiter>(s.executor);
        s.waiters.push_back(me);
      }
    }

    if (candidate) {
      // A connection may have died while idle (PostgreSQL restarted, backend
      // terminated): read what the server sent meanwhile and drop it if so.
      if (candidate->refresh_status()) {
        pooled_connection out(self, std::move(candidate));
        out.reused_ = true;
        co_return std::move(out);
      }
      s.discard(std::move(candidate));
      continue;
    }

    if (!open_new) {
      asio::steady_timer timer(s.executor, deadline);
      auto [order, wake_ec, timer_ec] =
          co_await asio::experimental::make_parallel_group(me->wake.async_receive(asio::deferred),
                                                           timer.async_wait(asio::deferred))
              .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
      const bool cancelled = (order[0] == 0 && wake_ec == asio::error::operation_aborted) ||
                             (order[0] == 1 && timer_ec == asio::error::operation_aborted);
      std::unique_ptr<connection> handed;
      std::optional<errc> failure;
      {
        std::lock_guard lock(s.mutex);
        if (!me->settled) {
          me->settled = true;
          s.waiters.erase(std::find(s.waiters.begin(), s.waiters.end(), me));
          me->failure = errc::timeout;
        }
        handed = std::move(me->conn);
        open_new = me->may_open;
        failure = me->failure;
      }
      if (handed) {
        pooled_connection out(self, std::move(handed));
        out.reused_ = true;
        co_return std::move(out);
      }
      if (!open_new) {
        if (cancelled) throw boost::system::system_error(asio::error::operation_aborted);
        switch (*failure) {
          case errc::timeout:
            throw error(errc::timeout, "no database connection became free within " +
                                           std::to_string(s.options.timeout.count()) + " ms");
          case errc::shutting_down: throw error(errc::shutting_down, "the database pool is closed");
          default: throw error(errc::unavailable, "the database is unavailable; reconnecting in the background");
        }
      }
    }

    // Open a new connection in the slot reserved above.
    std::unique_ptr<connection> conn;
    try {
      conn = co_await connection::connect(s.executor, s.options.conninfo, s.options.timeout, s.options.timeout);
    } catch (const error& failure) {
      connect_failed(failure);
      throw;
    } catch (...) {
      s.abandon_slot();
      throw;
    }
    co_return pooled_connection(self, std::move(conn));
  }
}

void pool::connect_failed(const error& failure) noexcept {
  state& s = *state_;
  std::vector<std::shared_ptr<waiter>> failed;
  std::vector<std::unique_ptr<connection>> stale;
  bool went_down = false;
  bool start_reconnect = false;
  {
    std::lock_guard lock(s.mutex);
    --s.open;
    if (s.closed) return;
    if (s.available) {
      s.available = false;
      went_down = true;
      for (auto& w : s.waiters) {
        w->settled = true;
        w->failure = errc::unavailable;
        failed.push_back(std::move(w));
      }
      s.waiters.clear();
      // Connections that sat idle through the outage are most likely dead.
      s.open -= s.idle.size();
      stale.swap(s.idle);
    }
    if (!s.reconnecting) {
      s.reconnecting = true;
      start_reconnect = true;
    }
  }
  if (went_down) {
    obs::log_warning(logger, {}, "database unavailable; reconnecting in the background",
                     {{"error", failure.detail()}, {"code", failure.code().message()}});
  }
  for (auto& w : failed) wake(s.executor, std::move(w));
  stale.clear();
  if (!start_reconnect) return;

  std::weak_ptr<pool> weak = weak_from_this();
  auto restored = [weak](std::unique_ptr<connection> conn) {
    auto self = weak.lock();
    if (!self) return false;
    state& st = *self->state_;
    std::unique_ptr<connection> extra;
    {
      std::lock_guard lock(st.mutex);
      st.reconnecting = false;
      if (st.closed) return false;
      st.available = true;
      if (st.open < st.options.size) {
        st.idle.push_back(std::move(conn));
        ++st.open;
      } else {
        extra = std::move(conn);
      }
    }
    return true;
  };
  try {
    // On a strand, because Boost 1.81's parallel group (used for every
    // deadline) is not safe on an io_context run by several threads otherwise.
    asio::co_spawn(asio::make_strand(s.executor),
                   reconnect_loop(weak, s.stop_reconnect, s.executor, s.options.conninfo, s.options.timeout,
                                  std::move(restored)),
                   asio::detached);
  } catch (...) {
    std::lock_guard lock(s.mutex);
    s.reconnecting = false;
  }
}

asio::awaitable<result> pool::query(std::string_view sql, const params& parameters,
                                    const obs::trace_parent& trace) {
  for (int attempt = 0;; ++attempt) {
    pooled_connection conn = co_await acquire();
    conn->set_trace_parent(trace);
    try {
      co_return co_await conn->query(sql, parameters, timeout());
    } catch (const error& failure) {
      // A connection that sat idle may have died without the server saying
      // so. The statement never reached a live server, so it is tried once
      // more on a fresh connection.
      if (attempt > 0 || !conn.reused() || failure.code_value() != errc::unavailable) throw;
    }
    obs::log_debug(logger, {}, "retrying on a fresh connection after an idle one turned out dead");
    conn = pooled_connection();
    discard_idle();
  }
}

asio::awaitable<bool> pool::ping() {
  try {
    auto answer = co_await query("SELECT 1");
    co_return answer.rows() == 1;
  } catch (const error&) {
    co_return false;
  }
}

void pool::close() {
  state& s = *state_;
  std::vector<std::shared_ptr<waiter>> failed;
  std::vector<std::unique_ptr<connection>> idle;
  {
    std::lock_guard lock(s.mutex);
    if (s.closed) return;
    s.closed = true;
    for (auto& w : s.waiters) {
      w->settled = true;
      w->failure = errc::shutting_down;
      failed.push_back(std::move(w));
    }
    s.waiters.clear();
    s.open -= s.idle.size();
    idle.swap(s.idle);
  }
  for (auto& w : failed) wake(s.executor, std::move(w));
  s.stop_reconnect->try_send(boost::system::error_code{});
  idle.clear();
  obs::log_debug(logger, {}, "database pool closed");
}

// ---------------------------------------------------------------- transactions

namespace detail {

asio::awaitable<pooled_connection> begin_transaction(pool& owner, const obs::trace_parent& trace) {
  for (int attempt = 0;; ++attempt) {
    pooled_connection conn = co_await owner.acquire();
    conn->set_trace_parent(trace);
    try {
      co_await conn->execute("BEGIN", owner.timeout());
      co_return std::move(conn);
    } catch (const error& failure) {
      if (attempt > 0 || !conn.reused() || failure.code_value() != errc::unavailable) throw;
    }
    obs::log_debug(logger, {}, "retrying BEGIN on a fresh connection after an idle one turned out dead");
    conn = pooled_connection();
    owner.discard_idle();
  }
}

asio::awaitable<void> commit_transaction(pooled_connection& conn, std::chrono::milliseconds timeout) {
  if (conn->in_failed_transaction()) {
    co_await rollback_transaction(conn, timeout);
    throw error(errc::query_failed, "the transaction was aborted by an earlier error and has been rolled back",
                "25P02");
  }
  co_await conn->execute("COMMIT", timeout);
}

asio::awaitable<void> rollback_transaction(pooled_connection& conn, std::chrono::milliseconds timeout) {
  bool failed = false;
  try {
    co_await conn->execute("ROLLBACK", timeout);
  } catch (...) {
    failed = true;
  }
  if (failed || !conn->idle_in_transaction_block()) conn->close();
}

}  // namespace detail

}  // namespace todo::db
