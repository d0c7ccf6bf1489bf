#pragma once

// CLIENT spans of Redis commands: db.system "redis", db.namespace (the
// database index), db.operation.name (the command) and db.query.text (the
// command and its key, with a placeholder for every other argument, so that
// no value reaches the trace).

#include "obs/tracer.hpp"
#include "queue/resp.hpp"
#include "queue/redis_url.hpp"

#include <span>
#include <string>

namespace todo::queue {

/// The command with its first argument and "?" for each further one, such as
/// "XADD todo:jobs ? ? ? ?". Commands whose first argument is not a key (EVALSHA,
/// SCAN, MULTI) get "?" for every argument.
std::string sanitized_command(const command_args& args);

/// Starts the span of one command, or of a pipeline of several (named
/// "PIPELINE" with db.operation.batch.size). An empty span when `parent` is empty.
obs::active_span start_command_span(const obs::trace_parent& parent, std::span<const command_args> commands,
                                    const redis_url& server);

/// Marks the span failed with error.type `type` and the message.
void record_command_failure(obs::active_span& span, std::string_view type, std::string_view message);

}  // namespace todo::queue
