#pragma once

#include "queue/stream_entry.hpp"

#include <optional>
#include <string>

namespace todo::queue {

/// One background job as it travels on the stream. The job itself (its
/// parameters and result) lives in PostgreSQL under `job_id`.
struct job_message {
  std::string job_id;       // 1-128 of A-Z a-z 0-9 . _ : -
  std::string job_type;     // 1-64 of A-Z a-z 0-9 . _ -, such as "export"
  int attempt = 1;          // 1 for the first run, raised by one for each retry, at most max_job_attempt
  std::string traceparent;  // W3C trace context of the request that created the job, or empty
  std::string request_id;   // id of that request (1-128 of A-Z a-z 0-9 . _ -), or empty

  bool operator==(const job_message&) const = default;
};

/// The highest attempt number a message may carry.
inline constexpr int max_job_attempt = 1000;

/// Encodes the message as the stream fields job_id, job_type, attempt,
/// traceparent and request_id, in that order; empty optional fields are
/// written as empty values. Throws std::invalid_argument naming the first
/// invalid field.
stream_fields encode_job_message(const job_message& message);

/// The outcome of decoding stream fields: a message, or the reason the
/// fields are not one.
struct job_decoding {
  std::optional<job_message> message;
  std::string problem;  // set when message is empty, naming the field
};

/// Decodes and validates stream fields. job_id, job_type and attempt are
/// required, and a repeated job field makes the message invalid. An invalid
/// traceparent or request_id is dropped instead, because losing the trace
/// is better than losing the job. Unknown fields are ignored, so that a newer
/// publisher can add fields without breaking older workers.
job_decoding decode_job_message(const stream_fields& fields);

/// True for a traceparent of the form 00-<32 hex>-<16 hex>-<2 hex> with
/// lowercase hex, non-zero ids and a version other than ff.
bool is_valid_traceparent(std::string_view value);

}  // namespace todo::queue
