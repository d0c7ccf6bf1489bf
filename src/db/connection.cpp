#include "db/connection.hpp"

#include "db/error.hpp"
#include "db/query_span.hpp"
#include "obs/log.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace todo::db {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view logger = "todo.db";

struct pgconn_deleter {
  void operator()(PGconn* handle) const noexcept {
    if (handle != nullptr) PQfinish(handle);
  }
};
using pgconn_ptr = std::unique_ptr<PGconn, pgconn_deleter>;

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string connection_message(const PGconn* handle) {
  std::string message = handle != nullptr ? trimmed(PQerrorMessage(handle)) : "out of memory";
  return message.empty() ? "connection to the database failed" : message;
}

// Server notices (NOTICE, WARNING) would go to stderr by default; they belong
// in the structured log instead.
void log_notice(void*, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* primary = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
  obs::log_debug(logger, {}, "server notice",
                 {{"severity", severity != nullptr ? severity : ""},
                  {"notice", primary != nullptr ? primary : ""}});
}

// Turns a PGRES_FATAL_ERROR result into a db::error. A cancelled statement
// (SQLSTATE 57014, raised by the server's statement_timeout) is a timeout; the
// classes 08 (connection exception) and 57P (operator intervention: shutdown,
// crash, database dropped) say the server is going away.
error error_from_result(const PGresult* failed) {
  const char* state = PQresultErrorField(failed, PG_DIAG_SQLSTATE);
  std::string sqlstate = state != nullptr ? state : "";
  std::string message = trimmed(PQresultErrorMessage(failed));
  if (message.empty()) message = "statement failed";
  errc code = errc::query_failed;
  if (sqlstate == "57014") {
    code = errc::timeout;
  } else if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0) {
    code = errc::unavailable;
  }
  return error(code, std::move(message), std::move(sqlstate));
}

bool means_connection_lost(const error& failure) {
  return failure.code_value() == errc::unavailable;
}

std::string statement_excerpt(std::string_view sql) {
  constexpr std::size_t limit = 200;
  return std::string(sql.substr(0, limit)) + (sql.size() > limit ? "..." : "");
}

}  // namespace

/// The deadline of one operation (a connect, a query or an execute); every
/// socket wait inside it gets the time that remains.
struct op_deadline {
  clock_type::time_point at;
  std::chrono::milliseconds budget;
  std::string_view operation;  // the statement, for the log line of a timeout
  bool connecting = false;
};

struct connection::impl {
  explicit impl(asio::any_io_executor executor) : socket(executor), timer(executor) {}

  obs::trace_parent trace;  // parent of the spans of this connection's statements
  query_server server;      // database, host and port, for span attributes

  ~impl() { close(); }

  void close() noexcept {
    broken = true;
    // The descriptor Asio watches is our own dup() of libpq's socket, so
    // closing it never touches libpq's descriptor (and never removes some
    // other descriptor that reused the number from the epoll set).
    boost::system::error_code ignored;
    socket.close(ignored);
    handle.reset();
  }

  bool healthy() const noexcept {
    return handle && !broken && PQstatus(handle.get()) == CONNECTION_OK;
  }

  /// Watches a fresh dup() of PQsocket(). During a connect libpq may close
  /// its socket and open another one (next host or address, SSL retry), so
  /// the connect loop calls this before every wait.
  void watch_socket() {
    boost::system::error_code ignored;
    socket.close(ignored);
    const int fd = PQsocket(handle.get());
    if (fd < 0) throw error(errc::unavailable, connection_message(handle.get()));
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
      throw error(errc::unavailable, std::string("cannot watch the database socket: ") + std::strerror(errno));
    }
    boost::system::error_code ec;
    socket.assign(copy, ec);
    if (ec) {
      ::close(copy);
      throw error(errc::unavailable, "cannot watch the database socket: " + ec.message());
    }
  }

  [[noreturn]] void fail_broken(std::string message, std::string sqlstate = {}) {
    broken = true;
    throw error(errc::unavailable, std::move(message), std::move(sqlstate));
  }

  void check_usable() {
    if (!handle || broken) throw error(errc::unavailable, "connection was closed after an earlier failure");
    if (PQstatus(handle.get()) != CONNECTION_OK) fail_broken(connection_message(handle.get()));
  }

  void check_sent(int sent) {
    if (sent) return;
    if (PQstatus(handle.get()) != CONNECTION_OK) fail_broken(connection_message(handle.get()));
    // Such as "another command is already in progress": the connection's
    // state is not what we think it is, so it must not be reused.
    broken = true;
    throw error(errc::query_failed, connection_message(handle.get()));
  }

  /// Waits until the socket is ready or the deadline passes, whichever is
  /// first. On timeout the connection is marked broken: a statement may still
  /// be running and its results would arrive later.
  asio::awaitable<void> wait(asio::posix::descriptor_base::wait_type what, const op_deadline& deadline) {
    if (clock_type::now() >= deadline.at) timed_out(deadline);
    timer.expires_at(deadline.at);
    auto [order, socket_ec, timer_ec] =
        co_await asio::experimental::make_parallel_group(socket.async_wait(what, asio::deferred),
                                                         timer.async_wait(asio::deferred))
            .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (order[0] == 0) {
      if (!socket_ec) co_return;
      broken = true;
      if (socket_ec == asio::error::operation_aborted) throw boost::system::system_error(socket_ec);
      throw error(errc::unavailable, "waiting on the database socket failed: " + socket_ec.message());
    }
    if (timer_ec) {  // Cancelled from outside: the operation is abandoned half-way.
      broken = true;
      throw boost::system::system_error(timer_ec);
    }
    timed_out(deadline);
  }

  [[noreturn]] void timed_out(const op_deadline& deadline) {
    broken = true;
    const auto budget = static_cast<long long>(deadline.budget.count());
    // Not logged here: the caller logs the error with its request_id, and
    // the message names the statement (placeholders only, never values).
    if (deadline.connecting) {
      throw error(errc::timeout, "database timeout after " + std::to_string(budget) + " ms while connecting");
    }
    throw error(errc::timeout, "database timeout after " + std::to_string(budget) +
                                   " ms while running: " + statement_excerpt(deadline.operation));
  }

  /// Sends what libpq has buffered, waiting for the socket to take it.
  asio::awaitable<void> flush(const op_deadline& deadline) {
    for (;;) {
      const int pending = PQflush(handle.get());
      if (pending == 0) co_return;
      if (pending < 0) fail_broken(connection_message(handle.get()));
      co_await wait(asio::posix::stream_descriptor::wait_write, deadline);
      // Read whatever the server sent meanwhile, so neither side stalls on a
      // full buffer.
      if (!PQconsumeInput(handle.get())) fail_broken(connection_message(handle.get()));
    }
  }

  /// Reads every result of the statement(s) sent. Returns the last result
  /// that is not an error; throws for the first error.
  asio::awaitable<result> collect(const op_deadline& deadline) {
    result last;
    std::optional<error> failure;
    for (;;) {
      while (PQisBusy(handle.get())) {
        co_await wait(asio::posix::stream_descriptor::wait_read, deadline);
        if (!PQconsumeInput(handle.get())) {
          if (failure) fail_broken(failure->detail(), failure->sqlstate());
          fail_broken(connection_message(handle.get()));
        }
      }
      PGresult* raw = PQgetResult(handle.get());
      if (raw == nullptr) break;
      result current(raw);
      switch (PQresultStatus(raw)) {
        case PGRES_FATAL_ERROR:
          if (!failure) failure.emplace(error_from_result(raw));
          break;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          broken = true;
          throw error(errc::query_failed, "COPY is not supported by this connection");
        case PGRES_BAD_RESPONSE:
          fail_broken("the server sent a response libpq does not understand");
        default:
          last = std::move(current);
          break;
      }
    }
    if (PQstatus(handle.get()) != CONNECTION_OK) {
      if (failure) fail_broken(failure->detail(), failure->sqlstate());
      fail_broken(connection_message(handle.get()));
    }
    if (failure) {
      if (means_connection_lost(*failure)) broken = true;
      throw *failure;
    }
    co_return last;
  }

  asio::awaitable<result> finish(const op_deadline& deadline) {
    co_await flush(deadline);
    co_return co_await collect(deadline);
  }

  pgconn_ptr handle;
  asio::posix::stream_descriptor socket;
  asio::steady_timer timer;
  std::unordered_map<std::string, std::string> statements;  // SQL text -> prepared statement name
  unsigned long next_statement = 1;
  bool broken = false;
};

connection::connection(asio::any_io_executor executor, PGconn* handle)
    : impl_(std::make_unique<impl>(std::move(executor))) {
  impl_->handle.reset(handle);
}

connection::~connection() = default;

asio::awaitable<std::unique_ptr<connection>> connection::connect(asio::any_io_executor executor,
                                                                 const std::string& conninfo,
                                                                 std::chrono::milliseconds timeout,
                                                                 std::chrono::milliseconds statement_timeout) {
  const op_deadline deadline{clock_type::now() + timeout, timeout, {}, true};

  // Read the caller's options and application_name so ours merge with them
  // instead of replacing them. libpq's parse message is not passed on: it may
  // quote the password.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (parsed == nullptr) throw error(errc::unavailable, "the database connection string is not valid");
  std::string caller_options;
  bool has_application_name = false;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || *option->val == '\0') continue;
    if (std::strcmp(option->keyword, "options") == 0) caller_options = option->val;
    if (std::strcmp(option->keyword, "application_name") == 0) has_application_name = true;
  }
  PQconninfoFree(parsed);

  std::string options;
  if (statement_timeout.count() > 0) {
    options = "-c statement_timeout=" + std::to_string(statement_timeout.count());
  }
  if (!caller_options.empty()) options += (options.empty() ? "" : " ") + caller_options;

  // dbname comes first and is expanded into the caller's parameters; the
  // keywords after it override what it set.
  std::vector<const char*> keywords{"dbname"};
  std::vector<const char*> values{conninfo.c_str()};
  if (!options.empty()) {
    keywords.push_back("options");
    values.push_back(options.c_str());
  }
  if (!has_application_name) {
    keywords.push_back("application_name");
    values.push_back("todo");
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  // NOTE: libpq resolves a host name with a blocking getaddrinfo() inside
  // PQconnectStartParams; an IP address in DATABASE_URL avoids that stall.
  PGconn* raw = PQconnectStartParams(keywords.data(), values.data(), 1);
  if (raw == nullptr) throw error(errc::unavailable, "out of memory while connecting to the database");
  std::unique_ptr<connection> conn(new connection(executor, raw));
  impl& state = *conn->impl_;
  if (PQstatus(raw) == CONNECTION_BAD) throw error(errc::unavailable, connection_message(raw));

  // Just after PQconnectStart, behave as if PQconnectPoll returned WRITING.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  for (;;) {
    if (status == PGRES_POLLING_OK) break;
    if (status == PGRES_POLLING_FAILED) throw error(errc::unavailable, connection_message(raw));
    state.watch_socket();
    co_await state.wait(status == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                        : asio::posix::stream_descriptor::wait_write,
                        deadline);
    status = PQconnectPoll(raw);
  }
  state.watch_socket();
  if (PQsetnonblocking(raw, 1) != 0) throw error(errc::unavailable, connection_message(raw));
  PQsetNoticeReceiver(raw, &log_notice, nullptr);
  state.server = query_server{PQdb(raw), PQhost(raw), PQport(raw)};
  obs::log_debug(logger, {}, "database connection opened", {{"backend_pid", PQbackendPID(raw)}});
  co_return conn;
}

asio::awaitable<result> connection::query(std::string_view sql, const params& parameters,
                                          std::chrono::milliseconds timeout) {
  impl& state = *impl_;
  auto span = start_query_span(state.trace, sql, state.server);
  try {
    state.check_usable();
    const op_deadline deadline{clock_type::now() + timeout, timeout, sql};
    std::string text(sql);
    std::string name;
    if (auto found = state.statements.find(text); found != state.statements.end()) {
      name = found->second;
    } else {
      name = "s" + std::to_string(state.next_statement++);
      state.check_sent(PQsendPrepare(state.handle.get(), name.c_str(), text.c_str(),
                                     static_cast<int>(parameters.size()), nullptr));
      co_await state.finish(deadline);
      state.statements.emplace(text, name);
    }

    std::vector<const char*> values;
    values.reserve(parameters.size());
    for (const auto& parameter : parameters) values.push_back(parameter ? parameter->c_str() : nullptr);
    state.check_sent(PQsendQueryPrepared(state.handle.get(), name.c_str(), static_cast<int>(values.size()),
                                         values.data(), nullptr, nullptr, 0));
    auto rows = co_await state.finish(deadline);
    if (span.recording()) span.set_attribute("db.response.returned_rows", static_cast<std::int64_t>(rows.rows()));
    co_return rows;
  } catch (const error& failure) {
    record_query_failure(span, failure);
    throw;
  }
}

asio::awaitable<void> connection::execute(std::string_view sql, std::chrono::milliseconds timeout) {
  impl& state = *impl_;
  auto span = start_query_span(state.trace, sql, state.server);
  try {
    state.check_usable();
    const op_deadline deadline{clock_type::now() + timeout, timeout, sql};
    const std::string text(sql);
    state.check_sent(PQsendQuery(state.handle.get(), text.c_str()));
    co_await state.finish(deadline);
  } catch (const error& failure) {
    record_query_failure(span, failure);
    throw;
  }
}

void connection::set_trace_parent(const obs::trace_parent& parent) noexcept { impl_->trace = parent; }

bool connection::healthy() const noexcept { return impl_->healthy(); }

bool connection::idle_in_transaction_block() const noexcept {
  return impl_->handle && PQtransactionStatus(impl_->handle.get()) == PQTRANS_IDLE;
}

bool connection::in_failed_transaction() const noexcept {
  return impl_->handle && PQtransactionStatus(impl_->handle.get()) == PQTRANS_INERROR;
}

bool connection::refresh_status() noexcept {
  impl& state = *impl_;
  if (!state.healthy()) {
    state.broken = true;
    return false;
  }
  // A server that shuts down or terminates the backend sends an error and
  // closes the socket: the first read takes the message, the next one sees
  // the end of the stream. A few rounds are enough for both.
  for (int round = 0; round < 4; ++round) {
    pollfd descriptor{PQsocket(state.handle.get()), POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, 0);
    if (ready <= 0) break;
    if (!PQconsumeInput(state.handle.get()) || PQstatus(state.handle.get()) != CONNECTION_OK) {
      state.broken = true;
      obs::log_debug(logger, {}, "idle database connection was closed by the server");
      return false;
    }
    while (PGnotify* notification = PQnotifies(state.handle.get())) PQfreemem(notification);
  }
  if (PQisBusy(state.handle.get()) || PQtransactionStatus(state.handle.get()) == PQTRANS_ACTIVE) {
    state.broken = true;  // Something arrived that no statement of ours asked for.
  }
  return state.healthy();
}

void connection::close() noexcept { impl_->close(); }

}  // namespace todo::db
