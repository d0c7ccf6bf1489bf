#pragma once

#include <string_view>

namespace todo::queue::scripts {

/// Acknowledges and deletes a failed entry and stores its next attempt in
/// the delayed set, due at the server's time plus the delay. Stores nothing
/// and returns 0 when the entry was not pending.
/// KEYS: stream, delayed set. ARGV: group, entry id, delay in ms, then the
/// field/value pairs of the next attempt.
inline constexpr std::string_view retry_later = R"lua(
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[3])
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
fields[#fields + 1] = 'retry_of'
fields[#fields + 1] = ARGV[2]
redis.call('ZADD', KEYS[2], due, cjson.encode(fields))
return 1
)lua";

/// Moves delayed jobs that are due to the stream and returns how many moved.
/// A member that does not decode to field/value pairs, or that XADD rejects,
/// goes to the dead-letter stream, so one bad member cannot block the others.
/// KEYS: delayed set, stream, dead-letter stream. ARGV: maximum number to move.
inline constexpr std::string_view promote_due = R"lua(
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
local moved = 0
for _, member in ipairs(due) do
  local ok, fields = pcall(cjson.decode, member)
  local added = nil
  if ok and type(fields) == 'table' and #fields > 0 and #fields % 2 == 0 then
    added = redis.pcall('XADD', KEYS[2], '*', unpack(fields))
  end
  if type(added) == 'string' then
    moved = moved + 1
  else
    redis.call('XADD', KEYS[3], '*', 'dead_reason', 'invalid delayed job', 'dead_raw', member)
  end
  redis.call('ZREM', KEYS[1], member)
end
return moved
)lua";

}  // namespace todo::queue::scripts
