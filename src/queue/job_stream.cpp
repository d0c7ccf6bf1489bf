#include "queue/job_stream.hpp"

#include "queue/error.hpp"
#include "queue/job_scripts.hpp"
#include "queue/transaction.hpp"
#include "obs/log.hpp"

#include <algorithm>
#include <stdexcept>

namespace todo::queue {

namespace asio = boost::asio;

namespace {

constexpr std::string_view logger = "todo.queue";
constexpr std::size_t max_reason_length = 1000;
constexpr std::size_t max_name_length = 128;

// Caps the XAUTOCLAIM rounds of one reclaim(); each round scans up to ten
// times COUNT entries of the pending list.
constexpr int max_reclaim_rounds = 100;

std::string to_ms_text(std::chrono::milliseconds value) { return std::to_string(value.count()); }

// Consumer names appear in XINFO output and our logs; printable ASCII keeps
// both readable.
void validate_consumer(std::string_view consumer) {
  const bool printable = std::all_of(consumer.begin(), consumer.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (consumer.empty() || consumer.size() > max_name_length || !printable) {
    throw std::invalid_argument("a consumer name must be 1-128 printable ASCII characters without spaces");
  }
}

// Worker ids become part of a key that live_workers() matches with a glob
// pattern, so glob characters are not allowed.
void validate_worker_id(std::string_view worker_id) {
  const bool valid_chars = std::all_of(worker_id.begin(), worker_id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
  if (worker_id.empty() || worker_id.size() > max_name_length || !valid_chars) {
    throw std::invalid_argument("a worker id must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'");
  }
}

// Escapes the glob characters of SCAN MATCH.
std::string escape_glob(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

std::int64_t unix_now_ms() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
}

std::string truncated(std::string_view text, std::size_t limit) {
  return std::string(text.substr(0, limit));
}

// Reads one field of the flat [name, value, name, value, ...] arrays that
// XINFO returns; nullptr when the field is missing.
const reply* find_info_field(const std::vector<reply>& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    if (flat[i].type == reply_type::bulk_string && flat[i].text == name) return &flat[i + 1];
  }
  return nullptr;
}

}  // namespace

job_stream_names job_stream_names::from_prefix(std::string_view prefix) {
  job_stream_names names;
  names.stream = std::string(prefix);
  names.dead = names.stream + ":dead";
  names.delayed = names.stream + ":delayed";
  return names;
}

job_stream::job_stream(std::shared_ptr<client> redis, job_stream_names names)
    : redis_(std::move(redis)), names_(std::move(names)) {}

asio::awaitable<void> job_stream::ensure_group() {
  // From the start of the stream, not "$": acknowledged entries are deleted,
  // so every entry still there is a job that no consumer has finished, and a
  // job published before the group existed must not be skipped.
  command_args create{"XGROUP", "CREATE", names_.stream, names_.group, "0", "MKSTREAM"};
  const reply created = co_await redis_->command(std::move(create));
  if (created.is_error() && created.text.starts_with("BUSYGROUP")) co_return;
  created.throw_if_error("XGROUP CREATE");
  obs::log_info(logger, {}, "job consumer group created", {{"stream", names_.stream}, {"group", names_.group}});
}

asio::awaitable<std::string> job_stream::publish(const job_message& message, const obs::trace_parent& trace) {
  command_args add{"XADD", names_.stream, "*"};
  append_fields(add, encode_job_message(message));
  const reply added = co_await redis_->command(std::move(add), trace);
  std::string entry_id = added.as_string("XADD");

  const auto trace_hex = trace.trace_id_hex();
  const auto span_hex = trace.span_id_hex();
  obs::log_debug(logger, {message.request_id, trace_hex, span_hex}, "job published",
                 {{"job_id", message.job_id}, {"job_type", message.job_type}, {"entry_id", entry_id},
                  {"attempt", message.attempt}});
  co_return entry_id;
}

asio::awaitable<std::vector<delivery>> job_stream::read(std::string_view consumer, std::size_t count,
                                                        std::chrono::milliseconds block) {
  validate_consumer(consumer);
  if (count == 0) throw std::invalid_argument("read() needs a count of at least 1");
  if (block.count() < 0) throw std::invalid_argument("read() needs a block time of zero or more");

  command_args args{"XREADGROUP", "GROUP", names_.group, std::string(consumer), "COUNT", std::to_string(count)};
  if (block.count() > 0) {
    args.push_back("BLOCK");
    args.push_back(to_ms_text(block));
  }
  args.push_back("STREAMS");
  args.push_back(names_.stream);
  args.push_back(">");

  const auto timeout = redis_->timeout() + block;
  reply result = co_await redis_->command(args, timeout);
  if (result.is_error() && result.text.starts_with("NOGROUP")) {
    obs::log_warning(logger, {}, "job consumer group missing, creating it again",
                     {{"stream", names_.stream}, {"group", names_.group}, {"consumer", consumer}});
    co_await ensure_group();
    result = co_await redis_->command(std::move(args), timeout);
  }

  // The reply is nil when BLOCK timed out, else [[stream, entries]].
  if (result.is_nil()) co_return std::vector<delivery>{};
  const auto& streams = result.as_array("XREADGROUP");
  std::vector<stream_entry> entries;
  for (const reply& stream : streams) {
    const auto& pair = stream.as_array("XREADGROUP");
    if (pair.size() != 2) throw error(errc::protocol_error, "XREADGROUP: expected [stream, entries]");
    auto parsed = parse_stream_entries(pair[1], "XREADGROUP");
    std::move(parsed.begin(), parsed.end(), std::back_inserter(entries));
  }
  co_return co_await decode_or_dead_letter(std::move(entries), consumer);
}

asio::awaitable<bool> job_stream::ack(std::string_view entry_id, const obs::trace_parent& trace) {
  std::vector<command_args> commands;
  commands.push_back({"XACK", names_.stream, names_.group, std::string(entry_id)});
  commands.push_back({"XDEL", names_.stream, std::string(entry_id)});
  const auto results = co_await run_transaction(*redis_, std::move(commands), trace);
  const bool acknowledged = results[0].as_integer("XACK") == 1;

  obs::log_debug(logger, {}, "job acknowledged", {{"entry_id", entry_id}, {"was_pending", acknowledged}});
  co_return acknowledged;
}

asio::awaitable<std::vector<delivery>> job_stream::reclaim(std::string_view consumer,
                                                           std::chrono::milliseconds min_idle, std::size_t count) {
  validate_consumer(consumer);
  if (count == 0) throw std::invalid_argument("reclaim() needs a count of at least 1");

  auto conn = co_await redis_->acquire();
  std::vector<stream_entry> claimed;
  std::vector<std::string> deleted_ids;
  std::string cursor = "0-0";
  for (int round = 0; round < max_reclaim_rounds && claimed.size() < count; ++round) {
    command_args claim{"XAUTOCLAIM", names_.stream, names_.group, std::string(consumer), to_ms_text(min_idle),
                       cursor, "COUNT", std::to_string(count - claimed.size())};
    const reply result = co_await conn->command(std::move(claim), redis_->timeout());
    if (result.is_error() && result.text.starts_with("NOGROUP")) co_return std::vector<delivery>{};

    // Redis 7 returns [next cursor, entries, ids deleted while pending];
    // Redis 6.2 has no third element.
    const auto& parts = result.as_array("XAUTOCLAIM");
    if (parts.size() < 2) throw error(errc::protocol_error, "XAUTOCLAIM: expected [cursor, entries, ...]");
    auto entries = parse_stream_entries(parts[1], "XAUTOCLAIM");
    std::move(entries.begin(), entries.end(), std::back_inserter(claimed));
    if (parts.size() > 2) {
      for (const reply& id : parts[2].as_array("XAUTOCLAIM")) deleted_ids.push_back(id.as_string("XAUTOCLAIM"));
    }
    cursor = parts[0].as_string("XAUTOCLAIM");
    if (cursor == "0-0") break;
  }

  for (const auto& id : deleted_ids) {
    obs::log_warning(logger, {}, "pending job entry was deleted before it was acknowledged",
                     {{"entry_id", id}, {"stream", names_.stream}});
  }
  if (claimed.empty()) co_return std::vector<delivery>{};

  // XAUTOCLAIM does not report delivery counts; XPENDING on each id does,
  // all in one round trip.
  std::vector<command_args> lookups;
  for (const auto& entry : claimed) {
    lookups.push_back({"XPENDING", names_.stream, names_.group, entry.id, entry.id, "1"});
  }
  const auto pending = co_await conn->commands(std::move(lookups), redis_->timeout());
  conn = {};

  auto jobs = co_await decode_or_dead_letter(claimed, consumer);
  for (auto& job : jobs) {
    const auto position = std::find_if(claimed.begin(), claimed.end(),
                                       [&](const stream_entry& entry) { return entry.id == job.entry_id; });
    const reply& details = pending[static_cast<std::size_t>(position - claimed.begin())];
    const auto& rows = details.as_array("XPENDING");
    // Each row is [id, consumer, idle ms, delivery count]; none when the
    // entry was acknowledged in the meantime.
    if (!rows.empty() && rows[0].as_array("XPENDING").size() == 4) {
      job.delivery_count = rows[0].as_array("XPENDING")[3].as_integer("XPENDING");
    }
  }

  obs::log_info(logger, {}, "reclaimed idle jobs",
                {{"consumer", consumer}, {"count", jobs.size()}, {"min_idle_ms", static_cast<long long>(min_idle.count())}});
  co_return jobs;
}

asio::awaitable<bool> job_stream::retry_later(const delivery& job, std::chrono::milliseconds delay,
                                              const obs::trace_parent& trace) {
  job_message next = job.message;
  next.attempt += 1;
  const stream_fields fields = encode_job_message(next);
  const auto delay_ms = std::max<long long>(0, delay.count());

  command_args eval{"EVAL", std::string(scripts::retry_later), "2", names_.stream, names_.delayed,
                    names_.group, job.entry_id, std::to_string(delay_ms)};
  append_fields(eval, fields);
  const reply result = co_await redis_->command(std::move(eval), trace);
  const bool scheduled = result.as_integer("EVAL retry_later") == 1;

  const auto trace_hex = trace.trace_id_hex();
  const auto span_hex = trace.span_id_hex();
  const obs::log_context context{next.request_id, trace_hex, span_hex};
  if (!scheduled) {
    obs::log_warning(logger, context, "job retry skipped because the entry is no longer pending",
                     {{"job_id", next.job_id}, {"entry_id", job.entry_id}});
    co_return false;
  }
  obs::log_info(logger, context, "job retry scheduled",
                {{"job_id", next.job_id}, {"job_type", next.job_type}, {"entry_id", job.entry_id},
                 {"attempt", next.attempt}, {"delay_ms", delay_ms}});
  co_return true;
}

asio::awaitable<std::size_t> job_stream::promote_due(std::size_t limit) {
  if (limit == 0) co_return 0;

  command_args eval{"EVAL", std::string(scripts::promote_due), "3", names_.delayed, names_.stream, names_.dead,
                    std::to_string(limit)};
  const reply result = co_await redis_->command(std::move(eval));
  const auto moved = static_cast<std::size_t>(result.as_integer("EVAL promote_due"));
  if (moved > 0) obs::log_info(logger, {}, "delayed jobs moved to the stream", {{"count", moved}});
  co_return moved;
}

asio::awaitable<std::string> job_stream::dead_letter(std::string_view entry_id, const job_message& message,
                                                     std::string_view reason, const obs::trace_parent& trace) {
  const std::string dead_id = co_await dead_letter_fields(entry_id, encode_job_message(message), reason, trace);
  const auto trace_hex = trace.trace_id_hex();
  const auto span_hex = trace.span_id_hex();
  obs::log_warning(logger, {message.request_id, trace_hex, span_hex}, "job moved to the dead-letter stream",
                   {{"job_id", message.job_id}, {"job_type", message.job_type}, {"entry_id", entry_id},
                    {"dead_entry_id", dead_id}, {"attempt", message.attempt},
                    {"reason", truncated(reason, max_reason_length)}});
  co_return dead_id;
}

asio::awaitable<std::string> job_stream::dead_letter_fields(std::string_view entry_id, stream_fields fields,
                                                            std::string_view reason, const obs::trace_parent& trace) {
  // The dead_ names are ours; the same names in a hostile entry are dropped
  // so the reason cannot be forged.
  std::erase_if(fields, [](const auto& field) { return field.first.starts_with("dead_"); });
  fields.emplace_back("dead_reason", truncated(reason, max_reason_length));
  fields.emplace_back("dead_original_id", std::string(entry_id));

  command_args add{"XADD", names_.dead, "*"};
  append_fields(add, fields);
  std::vector<command_args> commands;
  commands.push_back(std::move(add));
  commands.push_back({"XACK", names_.stream, names_.group, std::string(entry_id)});
  commands.push_back({"XDEL", names_.stream, std::string(entry_id)});
  const auto results = co_await run_transaction(*redis_, std::move(commands), trace);
  co_return results[0].as_string("XADD");
}

asio::awaitable<std::vector<delivery>> job_stream::decode_or_dead_letter(std::vector<stream_entry> entries,
                                                                         std::string_view consumer) {
  std::vector<delivery> jobs;
  jobs.reserve(entries.size());
  for (auto& entry : entries) {
    auto decoded = decode_job_message(entry.fields);
    if (decoded.message) {
      jobs.push_back({entry.id, std::move(*decoded.message), 1});
      continue;
    }

    const std::string reason = "invalid job message: " + decoded.problem;
    const std::string dead_id = co_await dead_letter_fields(entry.id, std::move(entry.fields), reason);
    obs::log_error(logger, {}, "invalid job message moved to the dead-letter stream",
                   {{"entry_id", entry.id}, {"dead_entry_id", dead_id}, {"consumer", consumer},
                    {"reason", decoded.problem}});
  }
  co_return jobs;
}

asio::awaitable<queue_depth> job_stream::depth() {
  std::vector<command_args> batch;
  batch.push_back({"XINFO", "GROUPS", names_.stream});
  batch.push_back({"XPENDING", names_.stream, names_.group});
  batch.push_back({"XLEN", names_.stream});
  batch.push_back({"ZCARD", names_.delayed});
  batch.push_back({"XLEN", names_.dead});
  const auto results = co_await redis_->commands(std::move(batch));

  queue_depth counts;
  const std::int64_t length = results[2].as_integer("XLEN");
  counts.delayed = results[3].as_integer("ZCARD");
  counts.dead = results[4].as_integer("XLEN");

  // XINFO fails with "no such key" before the first publish or ensure_group().
  const std::vector<reply>* group = nullptr;
  if (!results[0].is_error()) {
    for (const reply& candidate : results[0].as_array("XINFO GROUPS")) {
      const auto& flat = candidate.as_array("XINFO GROUPS");
      const reply* name = find_info_field(flat, "name");
      if (name != nullptr && name->text == names_.group) group = &flat;
    }
  }
  if (group == nullptr) {
    counts.waiting = length;
    co_return counts;
  }

  // XPENDING's summary is [count, smallest id, largest id, consumers].
  counts.pending = results[1].as_array("XPENDING").at(0).as_integer("XPENDING");

  // Redis 7 reports the group's lag, the entries not yet delivered to it,
  // but reports nil when deletions make it unknown. Then the stream length
  // serves, because acknowledged entries are deleted: what remains in the
  // stream is either pending or waiting.
  const reply* lag = find_info_field(*group, "lag");
  if (lag != nullptr && lag->type == reply_type::integer) {
    counts.waiting = lag->integer;
  } else {
    counts.waiting = std::max<std::int64_t>(0, length - counts.pending);
  }
  co_return counts;
}

asio::awaitable<void> job_stream::heartbeat(std::string_view worker_id, std::chrono::seconds ttl) {
  validate_worker_id(worker_id);
  if (ttl.count() < 1) throw std::invalid_argument("a heartbeat needs a ttl of at least one second");

  command_args set{"SET", names_.worker_prefix + std::string(worker_id), std::to_string(unix_now_ms()), "EX",
                   std::to_string(ttl.count())};
  const reply stored = co_await redis_->command(std::move(set));
  stored.throw_if_error("SET heartbeat");
}

asio::awaitable<std::vector<worker_heartbeat>> job_stream::live_workers() {
  // Bounds one listing to about a million keys scanned (COUNT 100 per call).
  constexpr int max_scan_calls = 10000;

  auto conn = co_await redis_->acquire();
  const std::string pattern = escape_glob(names_.worker_prefix) + "*";
  std::vector<std::string> keys;
  std::string cursor = "0";
  for (int call = 0; call < max_scan_calls; ++call) {
    command_args scan{"SCAN", cursor, "MATCH", pattern, "COUNT", "100"};
    const reply page = co_await conn->command(std::move(scan), redis_->timeout());
    const auto& parts = page.as_array("SCAN");
    if (parts.size() != 2) throw error(errc::protocol_error, "SCAN: expected [cursor, keys]");
    for (const reply& key : parts[1].as_array("SCAN")) keys.push_back(key.as_string("SCAN"));
    cursor = parts[0].as_string("SCAN");
    if (cursor == "0") break;
  }

  // SCAN may return a key twice.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) co_return std::vector<worker_heartbeat>{};

  command_args get{"MGET"};
  get.insert(get.end(), keys.begin(), keys.end());
  const reply values = co_await conn->command(std::move(get), redis_->timeout());
  const auto& items = values.as_array("MGET");
  if (items.size() != keys.size()) throw error(errc::protocol_error, "MGET: one value per key expected");

  std::vector<worker_heartbeat> workers;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (items[i].is_nil()) continue;  // Expired between SCAN and MGET.
    worker_heartbeat worker;
    worker.worker_id = keys[i].substr(names_.worker_prefix.size());
    const std::string& text = items[i].as_string("MGET");
    try {
      std::size_t used = 0;
      worker.unix_ms = std::stoll(text, &used);
      if (used != text.size()) worker.unix_ms = 0;
    } catch (const std::exception&) {
      worker.unix_ms = 0;
    }
    workers.push_back(std::move(worker));
  }
  co_return workers;
}

}  // namespace todo::queue
