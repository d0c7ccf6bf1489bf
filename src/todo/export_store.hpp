#pragma once

#include "db/pool.hpp"
#include "obs/tracer.hpp"
#include "todo/export_job.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace todo::domain {

/// The outcome of a worker's claim on a job.
enum class claim_outcome {
  started,  // the job is now STARTED and its attempts counter was raised
  finished, // the job is already SUCCESS or FAILURE: acknowledge the message and do nothing
  busy,     // another worker has the job row locked: leave the message pending
  missing,  // no such job (its row expired or never committed)
};

struct claim_result {
  claim_outcome outcome = claim_outcome::missing;
  export_job job;
};

/// The outcome of an export run.
enum class run_outcome {
  succeeded,     // this run wrote the CSV and set SUCCESS
  already_done,  // another run had set SUCCESS first; nothing was written
  busy,          // another worker has the job row locked
};

struct run_result {
  run_outcome outcome = run_outcome::succeeded;
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
};

/// Export jobs and their CSV chunks in PostgreSQL, the source of truth for
/// every job. State changes are conditional UPDATEs under a row lock, so a
/// message delivered twice can never produce a second result.
class export_store {
 public:
  explicit export_store(std::shared_ptr<db::pool> database) : database_(std::move(database)) {}

  /// Inserts a PENDING job. The row is committed when this returns, so the
  /// id can be polled before the message is published.
  boost::asio::awaitable<void> create(const export_job& job, const obs::trace_parent& trace = {});

  boost::asio::awaitable<std::optional<export_job>> find(const std::string& id, const obs::trace_parent& trace = {});

  /// Marks a PENDING job FAILURE because its message could not be published,
  /// so no job waits forever for a message that never comes.
  boost::asio::awaitable<void> fail_unpublished(const std::string& id, const std::string& error, const obs::trace_parent& trace = {});

  /// Takes a PENDING, RETRY or STARTED job for a run: STARTED, attempts + 1.
  /// Uses NOWAIT on the row, so a job that another worker is exporting is
  /// reported busy instead of waiting.
  boost::asio::awaitable<claim_result> claim(const std::string& id, const obs::trace_parent& trace = {});

  /// Streams the matching todos through a cursor into CSV chunks of about
  /// 1 MiB and sets SUCCESS with the row count, all in one transaction: a run
  /// that dies leaves nothing behind, and only one run can ever commit.
  boost::asio::awaitable<run_result> run_export(const export_job& job, unsigned batch_rows, const obs::trace_parent& trace = {});

  /// STARTED -> RETRY with the error of the failed attempt.
  boost::asio::awaitable<void> mark_retry(const std::string& id, const std::string& error, const obs::trace_parent& trace = {});

  /// Any unfinished state -> FAILURE with the error.
  boost::asio::awaitable<void> mark_failure(const std::string& id, const std::string& error, const obs::trace_parent& trace = {});

  /// The whole CSV of a SUCCESS job, chunks joined in order.
  /// NOTE: the file is assembled in memory, about 57 MB for a million todos
  /// (measured), twice over while the query result is alive. Streaming the
  /// chunks to the socket would keep the web process flat.
  boost::asio::awaitable<std::string> read_csv(const std::string& id, const obs::trace_parent& trace = {});

  /// Returns up to `limit` unfinished jobs (PENDING, STARTED or RETRY) with
  /// no sign of life for `age`: not published, claimed or retried since. It
  /// stamps them as published now, in one UPDATE, so two workers never pick
  /// the same job. The caller publishes them again, because their message
  /// may be lost (the web died before publishing, or Redis lost its data).
  boost::asio::awaitable<std::vector<export_job>> take_unpublished(std::chrono::seconds age, int limit, const obs::trace_parent& trace = {});

  /// Deletes jobs (and their chunks) that finished more than `retention` ago.
  /// Returns how many were deleted.
  boost::asio::awaitable<std::int64_t> delete_expired(std::chrono::hours retention, const obs::trace_parent& trace = {});

 private:
  std::shared_ptr<db::pool> database_;
};

/// True for a UUID in canonical text form (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text) noexcept;

}  // namespace todo::domain
