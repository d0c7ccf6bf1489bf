#pragma once

#include "queue/client.hpp"
#include "queue/job_message.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace todo::queue {

/// The Redis keys of one job queue.
struct job_stream_names {
  std::string stream = "todo:jobs";            // the job stream
  std::string dead = "todo:jobs:dead";         // the dead-letter stream
  std::string delayed = "todo:jobs:delayed";   // sorted set of retries waiting for their time
  std::string group = "workers";               // the consumer group of the workers
  std::string worker_prefix = "todo:workers:"; // heartbeat keys are this prefix and a worker id

  /// Names the stream `prefix`, the dead-letter stream `prefix:dead` and the
  /// delayed set `prefix:delayed`. The group and worker prefix keep their defaults.
  static job_stream_names from_prefix(std::string_view prefix);
};

/// One job handed to a worker.
struct delivery {
  std::string entry_id;  // the stream entry id, needed for ack(), retry_later() and dead_letter()
  job_message message;
  std::int64_t delivery_count = 1;  // how many times Redis has handed this entry to a consumer
};

struct queue_depth {
  std::int64_t waiting = 0;  // published and not yet delivered to any worker
  std::int64_t pending = 0;  // delivered and not yet acknowledged
  std::int64_t delayed = 0;  // retries waiting for their time
  std::int64_t dead = 0;     // entries in the dead-letter stream
};

struct worker_heartbeat {
  std::string worker_id;
  std::int64_t unix_ms = 0;  // time of the last heartbeat, 0 when the stored value is not a number
};

/// The job queue on a Redis Stream with one consumer group.
///
/// Delivery is at least once. A worker reads jobs with read(), runs each one
/// and calls ack() only after its result is committed. A job whose worker
/// died stays pending and another worker takes it over with reclaim() once
/// it has been idle for the visibility timeout. Its delivery_count then
/// counts every hand-out, so a job that kills every worker can be dead-lettered. A message that cannot be decoded is moved to the
/// dead-letter stream by read() and reclaim() themselves and never returned.
///
/// Acknowledged entries are also deleted from the stream (XACK and XDEL in
/// one MULTI/EXEC), so the stream holds only waiting and pending jobs and
/// does not grow without bound.
///
/// Retries with a delay: Redis cannot delay a stream entry, so retry_later()
/// stores the next attempt in the `delayed` sorted set, scored by the time it
/// is due, and acknowledges the failed entry in the same Lua script. Workers
/// call promote_due() regularly, which moves due jobs to the stream in one
/// script. Redis runs each script atomically, so a job is never both delayed
/// and pending, and two workers never promote the same job. Both scripts use the
/// Redis server's clock, so workers with skewed clocks agree on due times.
///
/// All keys must live on one Redis node (no Redis Cluster), because the
/// transactions and scripts touch several keys. A job_stream keeps no state
/// besides the client, so coroutines on several threads may share one.
class job_stream {
 public:
  job_stream(std::shared_ptr<client> redis, job_stream_names names = {});

  const job_stream_names& names() const noexcept { return names_; }

  /// Creates the consumer group at the start of the stream, creating the
  /// stream too if needed, so jobs published before the group existed are
  /// delivered. An existing group is left as it is.
  boost::asio::awaitable<void> ensure_group();

  /// Appends the job to the stream and returns the entry id. Throws
  /// std::invalid_argument for an invalid message and queue::error when
  /// Redis fails.
  /// With a non-empty `trace`, the XADD is a CLIENT span under it.
  boost::asio::awaitable<std::string> publish(const job_message& message, const obs::trace_parent& trace = {});

  /// Reads up to `count` new jobs for `consumer`, a name of 1-128 printable
  /// ASCII characters without spaces. When there are none, it waits up to
  /// `block`, and a zero `block` returns at once. The call keeps a pooled
  /// connection in use for the whole wait. When the group is missing because the
  /// stream was deleted, it creates the group again and repeats the read once.
  /// TODO: a consumer stays listed in the group after its worker exits, until
  /// XGROUP DELCONSUMER removes it; the worker should remove idle consumers
  /// that have nothing pending.
  boost::asio::awaitable<std::vector<delivery>> read(std::string_view consumer, std::size_t count,
                                                     std::chrono::milliseconds block);

  /// Acknowledges and deletes the entry. Returns false when it was not
  /// pending, because another worker acknowledged it after reclaiming it.
  boost::asio::awaitable<bool> ack(std::string_view entry_id, const obs::trace_parent& trace = {});

  /// Takes over up to `count` jobs that have been pending for at least
  /// `min_idle` with any consumer, as `consumer`, with XAUTOCLAIM. Returns
  /// them with their delivery counts, which XAUTOCLAIM has just raised by one.
  boost::asio::awaitable<std::vector<delivery>> reclaim(std::string_view consumer,
                                                        std::chrono::milliseconds min_idle, std::size_t count);

  /// Schedules the job again with attempt + 1 after `delay` and acknowledges
  /// the failed entry, in one script. Returns false, and schedules nothing,
  /// when the entry was no longer pending (another worker already finished
  /// it). Throws std::invalid_argument when attempt + 1 exceeds max_job_attempt.
  boost::asio::awaitable<bool> retry_later(const delivery& job, std::chrono::milliseconds delay,
                                           const obs::trace_parent& trace = {});

  /// Moves up to `limit` retries whose time has come from the delayed set to
  /// the stream. Returns how many were moved. A delayed member that cannot be
  /// read back goes to the dead-letter stream instead.
  boost::asio::awaitable<std::size_t> promote_due(std::size_t limit);

  /// Appends the message with `reason` to the dead-letter stream, then
  /// acknowledges and deletes the original entry, in one MULTI/EXEC. Returns
  /// the id of the dead-letter entry. Its fields are the job fields followed
  /// by dead_reason (`reason` cut to 1000 bytes) and dead_original_id.
  boost::asio::awaitable<std::string> dead_letter(std::string_view entry_id, const job_message& message,
                                                  std::string_view reason, const obs::trace_parent& trace = {});

  /// Counts waiting, pending, delayed and dead jobs in one round trip.
  boost::asio::awaitable<queue_depth> depth();

  /// Records that `worker_id` is alive: SET <worker_prefix><worker_id>
  /// <unix ms> EX <ttl>. The key disappears when no heartbeat follows within
  /// `ttl` (at least one second). The id is 1-128 of A-Z a-z 0-9 . _ : -.
  boost::asio::awaitable<void> heartbeat(std::string_view worker_id, std::chrono::seconds ttl);

  /// Lists the workers whose heartbeat key exists, sorted by id. Uses SCAN,
  /// never KEYS, so Redis is not blocked on a large keyspace.
  boost::asio::awaitable<std::vector<worker_heartbeat>> live_workers();

 private:
  boost::asio::awaitable<std::vector<delivery>> decode_or_dead_letter(std::vector<stream_entry> entries,
                                                                      std::string_view consumer);
  boost::asio::awaitable<std::string> dead_letter_fields(std::string_view entry_id, stream_fields fields,
                                                         std::string_view reason, const obs::trace_parent& trace = {});

  std::shared_ptr<client> redis_;
  job_stream_names names_;
};

}  // namespace todo::queue
