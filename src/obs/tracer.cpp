#include "obs/tracer.hpp"

#include <chrono>
#include <utility>

namespace todo::obs {

namespace {

void put_attribute(span& data, std::string_view key, attribute_value value) {
  for (auto& existing : data.attributes) {
    if (existing.key == key) {
      existing.value = std::move(value);
      return;
    }
  }
  data.attributes.push_back(attribute{std::string(key), std::move(value)});
}

}  // namespace

std::uint64_t unix_nano_now() noexcept {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

tracer::tracer(sampler sampling, std::shared_ptr<span_processor> processor)
    : sampling_(sampling), processor_(std::move(processor)) {}

active_span tracer::start_span(std::string_view name, span_kind kind, const std::optional<span_context>& parent,
                               std::uint64_t start_time_unix_nano) {
  active_span started;
  started.owner_ = this;

  const bool has_parent = parent && parent->trace_id.valid() && parent->span_id.valid();
  started.context_.trace_id = has_parent ? parent->trace_id : trace_id::generate();
  started.context_.span_id = span_id::generate();
  if (has_parent) started.context_.tracestate = parent->tracestate;

  const std::optional<span_context> effective_parent = has_parent ? parent : std::nullopt;
  if (should_sample(sampling_, effective_parent, started.context_.trace_id)) {
    started.context_.flags = trace_flag_sampled;
    started.data_ = std::make_unique<span>();
    started.data_->name = std::string(name);
    started.data_->kind = kind;
    started.data_->context = started.context_;
    if (has_parent) started.data_->parent_span_id = parent->span_id;
    started.data_->start_time_unix_nano = start_time_unix_nano != 0 ? start_time_unix_nano : unix_nano_now();
  }
  started.trace_hex_ = started.context_.trace_id.to_hex();
  started.span_hex_ = started.context_.span_id.to_hex();
  return started;
}

span_context trace_parent::context() const {
  span_context parent;
  parent.trace_id = trace_id;
  parent.span_id = span_id;
  parent.flags = flags;
  if (tracestate != nullptr) parent.tracestate = *tracestate;
  return parent;
}

active_span trace_parent::start_child(std::string_view name, span_kind kind) const {
  if (tracer == nullptr) return {};
  return tracer->start_span(name, kind, context());
}

active_span::active_span(active_span&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      context_(std::move(other.context_)),
      data_(std::move(other.data_)),
      trace_hex_(std::move(other.trace_hex_)),
      span_hex_(std::move(other.span_hex_)) {}

active_span& active_span::operator=(active_span&& other) noexcept {
  if (this != &other) {
    end();
    owner_ = std::exchange(other.owner_, nullptr);
    context_ = std::move(other.context_);
    data_ = std::move(other.data_);
    trace_hex_ = std::move(other.trace_hex_);
    span_hex_ = std::move(other.span_hex_);
  }
  return *this;
}

active_span::~active_span() { end(); }

void active_span::set_name(std::string_view name) {
  if (data_) data_->name = std::string(name);
}

void active_span::set_attribute(std::string_view key, std::string_view value) {
  if (data_) put_attribute(*data_, key, std::string(value));
}

void active_span::set_attribute(std::string_view key, std::int64_t value) {
  if (data_) put_attribute(*data_, key, value);
}

void active_span::set_attribute(std::string_view key, bool value) {
  if (data_) put_attribute(*data_, key, value);
}

void active_span::set_attribute(std::string_view key, double value) {
  if (data_) put_attribute(*data_, key, value);
}

void active_span::set_error(std::string_view description) {
  if (!data_ || data_->status.code == span_status_code::ok) return;
  data_->status.code = span_status_code::error;
  if (!description.empty()) data_->status.message = std::string(description);
}

void active_span::add_event(std::string_view name) {
  if (data_) data_->events.push_back(span_event{std::string(name), unix_nano_now(), {}});
}

void active_span::end() noexcept {
  if (!data_) return;
  auto finished = std::move(data_);
  finished->end_time_unix_nano = unix_nano_now();
  if (owner_ != nullptr && owner_->processor_) owner_->processor_->on_end(std::move(*finished));
}

}  // namespace todo::obs
