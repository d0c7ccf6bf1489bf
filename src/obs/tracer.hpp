#pragma once

// Spans with an explicit parent. A coroutine can resume on another thread
// after each co_await, so there is no "current span": every call that may
// start a child span takes a trace_parent argument, and request contexts
// carry their span.

#include "obs/sampler.hpp"
#include "obs/span.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace todo::obs {

/// Receives every ended span that was sampled. Implementations must not block:
/// end() runs on request paths.
class span_processor {
 public:
  virtual ~span_processor() = default;
  virtual void on_end(span&& finished) noexcept = 0;
};

/// Nanoseconds since the Unix epoch, from the system clock.
std::uint64_t unix_nano_now() noexcept;

class active_span;

/// Starts spans: decides sampling, assigns ids, and hands sampled spans to the
/// processor when they end. Thread-safe.
class tracer {
 public:
  tracer(sampler sampling, std::shared_ptr<span_processor> processor);

  /// Starts a span that is a child of `parent`, or the root of a new trace
  /// when there is no parent. An unsampled span still gets ids, so that its
  /// context propagates with the sampled flag cleared, but records nothing.
  active_span start_span(std::string_view name, span_kind kind, const std::optional<span_context>& parent,
                         std::uint64_t start_time_unix_nano = 0);

 private:
  friend class active_span;
  sampler sampling_;
  std::shared_ptr<span_processor> processor_;
};

/// Where a new span hangs: a tracer and the ids of its parent. An empty
/// trace_parent (no tracer) means tracing is off, and children are not created.
///
/// It is trivially copyable on purpose: it is passed by value and as a
/// temporary into co_await expressions, where GCC 12 has been seen to destroy
/// temporaries of class type with a non-trivial destructor wrongly. The
/// tracestate stays with the parent span, which outlives its children.
struct trace_parent {
  obs::tracer* tracer = nullptr;
  obs::trace_id trace_id;
  obs::span_id span_id;
  std::uint8_t flags = 0;
  const std::string* tracestate = nullptr;

  explicit operator bool() const noexcept { return tracer != nullptr; }

  /// The parent as a span context, such as for a traceparent header.
  span_context context() const;

  /// Returns the ids as hex for log lines, or empty strings when tracing is off.
  std::string trace_id_hex() const { return tracer != nullptr ? trace_id.to_hex() : std::string(); }
  std::string span_id_hex() const { return tracer != nullptr ? span_id.to_hex() : std::string(); }

  /// Starts a child of this parent, or returns an empty span when tracing is off.
  active_span start_child(std::string_view name, span_kind kind) const;
};

static_assert(std::is_trivially_copyable_v<trace_parent> && std::is_trivially_destructible_v<trace_parent>);

/// A started span. It is move-only and ends itself when destroyed. An empty
/// active_span, from a tracer that is off, accepts every call and does nothing.
class active_span {
 public:
  active_span() = default;
  active_span(active_span&&) noexcept;
  active_span& operator=(active_span&&) noexcept;
  active_span(const active_span&) = delete;
  active_span& operator=(const active_span&) = delete;
  ~active_span();

  /// True when a context exists, sampled or not.
  bool valid() const noexcept { return owner_ != nullptr; }
  /// True when the span is sampled and records attributes.
  bool recording() const noexcept { return data_ != nullptr; }
  bool sampled() const noexcept { return context_.sampled(); }

  const span_context& context() const noexcept { return context_; }
  /// The ids as hex, cached for log lines. Empty for an empty span.
  std::string_view trace_id_hex() const noexcept { return trace_hex_; }
  std::string_view span_id_hex() const noexcept { return span_hex_; }

  /// The parent to pass to calls that start children of this span.
  trace_parent as_parent() const noexcept {
    return trace_parent{owner_, context_.trace_id, context_.span_id, context_.flags, &context_.tracestate};
  }

  void set_name(std::string_view name);
  void set_attribute(std::string_view key, std::string_view value);
  void set_attribute(std::string_view key, const char* value) { set_attribute(key, std::string_view(value)); }
  void set_attribute(std::string_view key, std::int64_t value);
  void set_attribute(std::string_view key, bool value);
  void set_attribute(std::string_view key, double value);
  /// Sets the status to error. A non-empty `description` replaces the message.
  /// An ok status is never overwritten.
  void set_error(std::string_view description);
  void add_event(std::string_view name);

  /// Ends the span now and hands it to the processor. Later calls do nothing.
  void end() noexcept;

 private:
  friend class tracer;
  tracer* owner_ = nullptr;
  span_context context_;
  std::unique_ptr<span> data_;  // null unless sampled
  std::string trace_hex_;
  std::string span_hex_;
};

}  // namespace todo::obs
