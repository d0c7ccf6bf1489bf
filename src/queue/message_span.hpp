#pragma once

// PRODUCER and CONSUMER spans of jobs on the stream, with the messaging
// semantic conventions. The producer's context travels in the job message's
// traceparent, so the consumer continues the trace of the request that
// published the job.

#include "obs/tracer.hpp"
#include "queue/job_message.hpp"
#include "queue/job_stream.hpp"

#include <string_view>

namespace todo::queue {

/// Starts the PRODUCER span "send {stream}" for publishing `message` under
/// `parent`. An empty span when `parent` is empty.
obs::active_span start_send_span(const obs::trace_parent& parent, const job_stream_names& names,
                                 const job_message& message);

/// Records the stream entry id that publishing returned.
void record_sent_message(obs::active_span& span, std::string_view entry_id);

/// Starts the CONSUMER span "process {stream}" for one delivery, as a child
/// of the context in its traceparent, or as a new trace when it has none.
/// An empty span when `tracer` is null.
obs::active_span start_process_span(obs::tracer* tracer, const job_stream_names& names, const delivery& job,
                                    std::string_view consumer);

}  // namespace todo::queue
