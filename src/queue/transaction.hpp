#pragma once

#include "queue/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <vector>

namespace todo::queue {

/// Runs `commands` inside MULTI ... EXEC on one pooled connection in a single
/// round trip and returns EXEC's replies, one per command.
///
/// Throws queue::error(server_error) when Redis rejects a command while
/// queueing it (then nothing ran) or when a command fails during EXEC. In the
/// second case the other commands have taken effect, because Redis does not
/// roll a transaction back. The commands used here fail at run time only
/// with WRONGTYPE, when a key contains a value of another type.
/// With a non-empty `trace` the round trip is one span under it.
boost::asio::awaitable<std::vector<reply>> run_transaction(client& redis, std::vector<command_args> commands,
                                                           const obs::trace_parent& trace = {});

}  // namespace todo::queue
