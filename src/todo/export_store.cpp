#include "todo/export_store.hpp"

#include "db/error.hpp"
#include "todo/export_csv.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>

namespace todo::domain {

namespace asio = boost::asio;

namespace {

// SQLSTATE of FOR UPDATE NOWAIT on a row that another transaction holds.
constexpr std::string_view lock_not_available = "55P03";

// A chunk is written once the CSV buffer passes this size.
constexpr std::size_t chunk_bytes = 1024 * 1024;

const std::string insert_job_sql =
    "INSERT INTO export_jobs (id, job_type, filters, request_id, traceparent) "
    "VALUES ($1::uuid, $2, $3::jsonb, NULLIF($4, ''), NULLIF($5, ''))";

const std::string find_job_sql =
    "SELECT id::text, state, filters::text, attempts, row_count, error, "
    "COALESCE(request_id, ''), COALESCE(traceparent, '') FROM export_jobs WHERE id = $1::uuid";

const std::string lock_job_sql = find_job_sql + " FOR UPDATE NOWAIT";

const std::string fail_unpublished_sql =
    "UPDATE export_jobs SET state = 'FAILURE', error = $2, finished_at = now() "
    "WHERE id = $1::uuid AND state = 'PENDING'";

const std::string start_job_sql =
    "UPDATE export_jobs SET state = 'STARTED', attempts = attempts + 1, started_at = now(), published_at = now() "
    "WHERE id = $1::uuid RETURNING attempts";

const std::string retry_job_sql =
    "UPDATE export_jobs SET state = 'RETRY', error = $2, published_at = now() "
    "WHERE id = $1::uuid AND state = 'STARTED'";

const std::string fail_job_sql =
    "UPDATE export_jobs SET state = 'FAILURE', error = $2, finished_at = now() "
    "WHERE id = $1::uuid AND state IN ('PENDING', 'STARTED', 'RETRY')";

const std::string succeed_job_sql =
    "UPDATE export_jobs SET state = 'SUCCESS', row_count = $2, byte_count = $3, error = NULL, finished_at = now() "
    "WHERE id = $1::uuid";

const std::string delete_chunks_sql = "DELETE FROM export_chunks WHERE job_id = $1::uuid";

const std::string insert_chunk_sql = "INSERT INTO export_chunks (job_id, seq, data) VALUES ($1::uuid, $2, $3)";

const std::string read_chunks_sql = "SELECT data FROM export_chunks WHERE job_id = $1::uuid ORDER BY seq";

const std::string delete_expired_sql =
    "DELETE FROM export_jobs WHERE finished_at < now() - make_interval(hours => $1::int)";

const std::string close_cursor_sql = "CLOSE export_rows";

const std::string take_unpublished_sql =
    "UPDATE export_jobs SET published_at = now() WHERE id IN ("
    "SELECT id FROM export_jobs WHERE state IN ('PENDING', 'STARTED', 'RETRY') "
    "AND published_at < now() - make_interval(secs => $1::int) "
    "ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
    "RETURNING id::text, state, filters::text, attempts, row_count, error, "
    "COALESCE(request_id, ''), COALESCE(traceparent, '')";

// The export's rows in the page's order, read through a cursor so memory
// stays flat however many todos there are. The filter is part of the text
// because DECLARE takes no parameters.
std::string declare_cursor_sql(const export_filters& filters) {
  std::string sql =
      "DECLARE export_rows NO SCROLL CURSOR FOR SELECT id, text, done, position, "
      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM todos";
  if (filters.done) sql += *filters.done ? " WHERE done" : " WHERE NOT done";
  sql += " ORDER BY position ASC, created_at DESC, id DESC";
  return sql;
}

export_job read_job(const db::result& rows, int row = 0) {
  export_job job;
  job.id = std::string(rows.text(row, 0));
  job.state = std::string(rows.text(row, 1));
  job.filters = export_filters::from_json(rows.text(row, 2));
  job.attempts = static_cast<int>(rows.integer(row, 3));
  if (!rows.is_null(row, 4)) job.row_count = rows.integer(row, 4);
  if (!rows.is_null(row, 5)) job.error = std::string(rows.text(row, 5));
  job.request_id = std::string(rows.text(row, 6));
  job.traceparent = std::string(rows.text(row, 7));
  return job;
}

bool is_finished(std::string_view state) { return state == job_state::success || state == job_state::failure; }

bool is_lock_busy(const db::error& e) {
  return e.code_value() == db::errc::query_failed && e.sqlstate() == lock_not_available;
}

asio::awaitable<claim_result> claim_locked(db::connection& conn, const std::string& id,
                                           std::chrono::milliseconds timeout) {
  const db::params id_param{id};
  auto rows = co_await conn.query(lock_job_sql, id_param, timeout);
  if (rows.rows() == 0) co_return claim_result{claim_outcome::missing, {}};

  claim_result claim{claim_outcome::started, read_job(rows)};
  if (is_finished(claim.job.state)) {
    claim.outcome = claim_outcome::finished;
    co_return claim;
  }
  auto started = co_await conn.query(start_job_sql, id_param, timeout);
  claim.job.state = std::string(job_state::started);
  claim.job.attempts = static_cast<int>(started.integer(0, 0));
  co_return claim;
}

asio::awaitable<void> write_chunk(db::connection& conn, const std::string& id, int seq, std::string& buffer,
                                  std::chrono::milliseconds timeout) {
  const db::params parameters{id, std::to_string(seq), buffer};
  co_await conn.query(insert_chunk_sql, parameters, timeout);
  buffer.clear();
}

asio::awaitable<run_result> export_locked(db::connection& conn, const export_job& job, unsigned batch_rows,
                                          std::chrono::milliseconds timeout) {
  const db::params id_param{job.id};
  auto rows = co_await conn.query(lock_job_sql, id_param, timeout);
  if (rows.rows() == 0 || read_job(rows).state == job_state::success) {
    co_return run_result{run_outcome::already_done, 0, 0};
  }

  co_await conn.query(delete_chunks_sql, id_param, timeout);
  co_await conn.execute(declare_cursor_sql(job.filters), timeout);

  const std::string fetch_sql = "FETCH " + std::to_string(batch_rows) + " FROM export_rows";
  const db::params no_params;
  std::string buffer(csv_header);
  buffer.reserve(chunk_bytes + 64 * 1024);
  run_result result;
  int seq = 0;

  for (;;) {
    auto batch = co_await conn.query(fetch_sql, no_params, timeout);
    if (batch.rows() == 0) break;
    for (int row = 0; row < batch.rows(); ++row) {
      todo_item item;
      item.id = batch.integer(row, 0);
      item.text = std::string(batch.text(row, 1));
      item.done = batch.boolean(row, 2);
      item.position = batch.integer(row, 3);
      item.created_at = std::string(batch.text(row, 4));
      append_csv_row(buffer, item);
    }
    result.rows += batch.rows();
    if (buffer.size() >= chunk_bytes) {
      result.bytes += static_cast<std::int64_t>(buffer.size());
      co_await write_chunk(conn, job.id, seq++, buffer, timeout);
    }
  }
  co_await conn.query(close_cursor_sql, no_params, timeout);

  if (!buffer.empty()) {
    result.bytes += static_cast<std::int64_t>(buffer.size());
    co_await write_chunk(conn, job.id, seq++, buffer, timeout);
  }
  const db::params done_params{job.id, std::to_string(result.rows), std::to_string(result.bytes)};
  co_await conn.query(succeed_job_sql, done_params, timeout);
  result.outcome = run_outcome::succeeded;
  co_return result;
}

}  // namespace

std::string export_filters::to_json() const {
  boost::json::object object;
  if (done) object["done"] = *done;
  return boost::json::serialize(object);
}

export_filters export_filters::from_json(std::string_view json) {
  export_filters filters;
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec || !value.is_object()) return filters;
  if (const auto* done = value.as_object().if_contains("done"); done != nullptr && done->is_bool()) {
    filters.done = done->as_bool();
  }
  return filters;
}

bool is_uuid(std::string_view text) noexcept {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position != (text[i] == '-')) return false;
    if (!dash_position && !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

asio::awaitable<void> export_store::create(const export_job& job, const obs::trace_parent& trace) {
  const db::params parameters{job.id, std::string(export_job_type), job.filters.to_json(), job.request_id,
                              job.traceparent};
  co_await database_->query(insert_job_sql, parameters, trace);
}

asio::awaitable<std::optional<export_job>> export_store::find(const std::string& id, const obs::trace_parent& trace) {
  const db::params parameters{id};
  auto rows = co_await database_->query(find_job_sql, parameters, trace);
  if (rows.rows() == 0) co_return std::nullopt;
  co_return read_job(rows);
}

asio::awaitable<void> export_store::fail_unpublished(const std::string& id, const std::string& error, const obs::trace_parent& trace) {
  const db::params parameters{id, error};
  co_await database_->query(fail_unpublished_sql, parameters, trace);
}

asio::awaitable<claim_result> export_store::claim(const std::string& id, const obs::trace_parent& trace) {
  const auto timeout = database_->timeout();
  try {
    co_return co_await db::with_transaction(
        *database_, trace, [&id, timeout](db::connection& conn) { return claim_locked(conn, id, timeout); });
  } catch (const db::error& e) {
    if (!is_lock_busy(e)) throw;
  }
  co_return claim_result{claim_outcome::busy, {}};
}

asio::awaitable<run_result> export_store::run_export(const export_job& job, unsigned batch_rows, const obs::trace_parent& trace) {
  const auto timeout = database_->timeout();
  try {
    co_return co_await db::with_transaction(*database_, trace, [&job, batch_rows, timeout](db::connection& conn) {
      return export_locked(conn, job, batch_rows, timeout);
    });
  } catch (const db::error& e) {
    if (!is_lock_busy(e)) throw;
  }
  co_return run_result{run_outcome::busy, 0, 0};
}

asio::awaitable<void> export_store::mark_retry(const std::string& id, const std::string& error, const obs::trace_parent& trace) {
  const db::params parameters{id, error};
  co_await database_->query(retry_job_sql, parameters, trace);
}

asio::awaitable<void> export_store::mark_failure(const std::string& id, const std::string& error, const obs::trace_parent& trace) {
  const db::params parameters{id, error};
  co_await database_->query(fail_job_sql, parameters, trace);
}

asio::awaitable<std::string> export_store::read_csv(const std::string& id, const obs::trace_parent& trace) {
  const db::params parameters{id};
  auto rows = co_await database_->query(read_chunks_sql, parameters, trace);
  std::size_t total = 0;
  for (int row = 0; row < rows.rows(); ++row) total += rows.text(row, 0).size();

  std::string csv;
  csv.reserve(total);
  for (int row = 0; row < rows.rows(); ++row) csv.append(rows.text(row, 0));
  co_return csv;
}

asio::awaitable<std::vector<export_job>> export_store::take_unpublished(std::chrono::seconds age, int limit, const obs::trace_parent& trace) {
  const db::params parameters{std::to_string(age.count()), std::to_string(limit)};
  auto rows = co_await database_->query(take_unpublished_sql, parameters, trace);
  std::vector<export_job> jobs;
  for (int row = 0; row < rows.rows(); ++row) jobs.push_back(read_job(rows, row));
  co_return jobs;
}

asio::awaitable<std::int64_t> export_store::delete_expired(std::chrono::hours retention, const obs::trace_parent& trace) {
  const db::params parameters{std::to_string(retention.count())};
  auto rows = co_await database_->query(delete_expired_sql, parameters, trace);
  co_return rows.affected_rows();
}

}  // namespace todo::domain
