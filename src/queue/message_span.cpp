#include "queue/message_span.hpp"

namespace todo::queue {

namespace {

void set_common(obs::active_span& span, const job_stream_names& names, const job_message& message,
                std::string_view operation) {
  span.set_attribute("messaging.system", "redis");
  span.set_attribute("messaging.operation.type", operation);
  span.set_attribute("messaging.operation.name", operation);
  span.set_attribute("messaging.destination.name", names.stream);
  span.set_attribute("todo.job.id", message.job_id);
  span.set_attribute("todo.job.type", message.job_type);
  span.set_attribute("todo.job.attempt", static_cast<std::int64_t>(message.attempt));
}

}  // namespace

obs::active_span start_send_span(const obs::trace_parent& parent, const job_stream_names& names,
                                 const job_message& message) {
  if (!parent) return {};
  auto span = parent.start_child("send " + names.stream, obs::span_kind::producer);
  if (span.recording()) set_common(span, names, message, "send");
  return span;
}

void record_sent_message(obs::active_span& span, std::string_view entry_id) {
  span.set_attribute("messaging.message.id", entry_id);
}

obs::active_span start_process_span(obs::tracer* tracer, const job_stream_names& names, const delivery& job,
                                    std::string_view consumer) {
  if (tracer == nullptr) return {};
  // decode_job_message dropped an invalid traceparent, so this parses.
  const auto parent = obs::parse_traceparent(job.message.traceparent);
  auto span = tracer->start_span("process " + names.stream, obs::span_kind::consumer, parent);
  if (!span.recording()) return span;
  set_common(span, names, job.message, "process");
  span.set_attribute("messaging.message.id", job.entry_id);
  span.set_attribute("messaging.consumer.group.name", names.group);
  span.set_attribute("messaging.client.id", consumer);
  span.set_attribute("todo.job.delivery_count", static_cast<std::int64_t>(job.delivery_count));
  return span;
}

}  // namespace todo::queue
