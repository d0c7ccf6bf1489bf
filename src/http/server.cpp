#include "http/server.hpp"

#include "http/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <exception>
#include <stdexcept>
#include <map>

namespace todo::http {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::string_view logger = "todo.http";

// Pause after an accept error such as EMFILE, so the loop does not spin
// while the process is out of descriptors.
constexpr std::chrono::milliseconds accept_backoff{100};

// At most one accept error line per interval. The next line counts the
// errors left out.
constexpr std::chrono::seconds accept_error_log_interval{5};

std::string describe_exception(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

// The acceptor, the timers, the connection registry and the shutdown state
// are touched only on the `control_` strand, except in start(), which runs
// before anything else uses them.
struct server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& io, server_options options, std::shared_ptr<const router> routes)
      : io_(io),
        options_(std::make_shared<const server_options>(std::move(options))),
        routes_(std::move(routes)),
        control_(asio::make_strand(io)),
        acceptor_(control_),
        backoff_timer_(control_),
        shutdown_timer_(control_) {}

  void start() {
    if (stop_requested_) throw std::logic_error("http server cannot start after shutdown");

    const auto& endpoint = options_->endpoint;
    try {
      acceptor_.open(endpoint.protocol());
      acceptor_.set_option(tcp::acceptor::reuse_address(true));
      acceptor_.bind(endpoint);
      acceptor_.listen(asio::socket_base::max_listen_connections);
      port_ = acceptor_.local_endpoint().port();
    } catch (const boost::system::system_error&) {
      error_code ignored;
      acceptor_.close(ignored);
      throw;
    }

    obs::log_info(logger, {}, "http server listening",
                  {{"address", endpoint.address().to_string()},
                   {"port", static_cast<unsigned>(port_.load())},
                   {"environment", options_->environment}});

    asio::co_spawn(control_, accept_loop(shared_from_this()), [](std::exception_ptr failure) {
      if (!failure) return;
      obs::log_error(logger, {}, "http accept loop failed", {{"error", describe_exception(failure)}});
    });
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      tcp::socket socket(asio::make_strand(self->io_));
      auto [ec] = co_await self->acceptor_.async_accept(socket, asio::as_tuple(asio::use_awaitable));
      if (self->stopping_ || ec == asio::error::operation_aborted) co_return;

      if (ec) {
        // Out of descriptors: free some so that new clients can get in again.
        if (ec == asio::error::no_descriptors) self->shed_connections();
        self->report_accept_error(ec);
        self->backoff_timer_.expires_after(accept_backoff);
        co_await self->backoff_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      self->start_connection(std::move(socket));
    }
  }

  void report_accept_error(const error_code& ec) {
    const auto now = std::chrono::steady_clock::now();
    if (last_accept_error_log_.time_since_epoch().count() != 0 &&
        now - last_accept_error_log_ < accept_error_log_interval) {
      ++suppressed_accept_errors_;
      return;
    }

    obs::log_warning(logger, {}, "http accept failed, retrying",
                     {{"error", ec.message()},
                      {"retry_in_ms", accept_backoff.count()},
                      {"errors_not_logged", suppressed_accept_errors_}});
    last_accept_error_log_ = now;
    suppressed_accept_errors_ = 0;
  }

  // Stops the oldest connections when the limit is reached, so that one
  // client holding many idle keep-alive connections cannot lock out others
  // (such as health checks). Idle ones close at once and busy ones after
  // their current response.
  void shed_connections() {
    const std::size_t batch = std::max<std::size_t>(1, options_->max_connections / 100);
    std::size_t stopped = 0;
    for (auto it = connections_.begin(); it != connections_.end() && stopped < batch; ++it, ++stopped) {
      auto conn = it->second;
      asio::post(conn->executor, [conn] { conn->stop(); });
    }
    ++shed_events_;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_shed_log_ < accept_error_log_interval) return;
    obs::log_warning(logger, {}, "connection limit reached, closing the oldest connections",
                     {{"open_connections", connections_.size()},
                      {"max_connections", options_->max_connections},
                      {"closed_per_event", stopped},
                      {"events_since_last_log", shed_events_}});
    last_shed_log_ = now;
    shed_events_ = 0;
  }

  void start_connection(tcp::socket socket) {
    if (connections_.size() >= options_->max_connections) shed_connections();
    const auto id = next_connection_id_++;
    auto conn = std::make_shared<connection>(std::move(socket), id);
    connections_.emplace(id, conn);

    auto executor = conn->executor;
    asio::co_spawn(std::move(executor), serve_connection(std::move(conn), options_, routes_),
                   [self = shared_from_this(), id](std::exception_ptr failure) {
                     if (failure) {
                       obs::log_error(logger, {}, "http connection failed",
                                      {{"connection_id", id}, {"error", describe_exception(failure)}});
                     }
                     asio::post(self->control_, [self, id] { self->on_connection_closed(id); });
                   });
  }

  void on_connection_closed(std::uint64_t id) {
    connections_.erase(id);
    if (stopping_ && connections_.empty()) finish_shutdown();
  }

  void begin_shutdown(std::chrono::milliseconds timeout, std::function<void(std::size_t)> done) {
    if (stopped_) {
      if (done) done(connections_.size());
      return;
    }
    if (done) done_callbacks_.push_back(std::move(done));
    if (stopping_) return;

    stopping_ = true;
    obs::log_info(logger, {}, "http server stopping",
                  {{"open_connections", connections_.size()}, {"timeout_ms", static_cast<long long>(timeout.count())}});

    error_code ignored;
    acceptor_.close(ignored);
    backoff_timer_.cancel();

    for (const auto& [id, conn] : connections_) {
      asio::post(conn->executor, [conn] { conn->stop(); });
    }
    if (connections_.empty()) {
      finish_shutdown();
      return;
    }

    shutdown_timer_.expires_after(timeout);
    shutdown_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      self->on_shutdown_timeout();
    });
  }

  void on_shutdown_timeout() {
    if (stopped_) return;

    obs::log_warning(logger, {}, "http server shutdown timed out, closing open connections",
                     {{"open_connections", connections_.size()}});
    for (const auto& [id, conn] : connections_) {
      asio::post(conn->executor, [conn] { conn->abort(); });
    }
    finish_shutdown();
  }

  void finish_shutdown() {
    if (stopped_) return;
    stopped_ = true;
    shutdown_timer_.cancel();

    const auto remaining = connections_.size();
    obs::log_info(logger, {}, "http server stopped", {{"open_connections", remaining}});

    auto callbacks = std::move(done_callbacks_);
    done_callbacks_.clear();
    for (auto& done : callbacks) done(remaining);
  }

  asio::io_context& io_;
  std::shared_ptr<const server_options> options_;
  std::shared_ptr<const router> routes_;
  asio::strand<asio::io_context::executor_type> control_;
  tcp::acceptor acceptor_;
  asio::steady_timer backoff_timer_;
  asio::steady_timer shutdown_timer_;
  std::atomic<unsigned short> port_{0};
  std::atomic<bool> stop_requested_{false};

  // Ordered by id, so shutdown stops connections in accept order.
  std::map<std::uint64_t, std::shared_ptr<connection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  bool stopping_ = false;
  bool stopped_ = false;
  std::vector<std::function<void(std::size_t)>> done_callbacks_;

  std::chrono::steady_clock::time_point last_accept_error_log_{};
  std::uint64_t suppressed_accept_errors_ = 0;
  std::chrono::steady_clock::time_point last_shed_log_{};
  std::uint64_t shed_events_ = 0;
};

server::server(asio::io_context& io, server_options options, std::shared_ptr<const router> routes)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(routes))) {}

server::~server() {
  if (!impl_->stop_requested_) shutdown(std::chrono::milliseconds{0}, nullptr);
}

void server::start() { impl_->start(); }

unsigned short server::port() const { return impl_->port_.load(); }

void server::shutdown(std::chrono::milliseconds timeout, std::function<void(std::size_t)> done) {
  impl_->stop_requested_ = true;
  asio::post(impl_->control_, [self = impl_, timeout, done = std::move(done)]() mutable {
    self->begin_shutdown(timeout, std::move(done));
  });
}

}  // namespace todo::http
