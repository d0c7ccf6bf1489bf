#pragma once

// Head sampling decisions, configured the way the OpenTelemetry SDK environment variables
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG configure them.

#include "obs/trace_context.hpp"

#include <optional>
#include <string_view>

namespace todo::obs {

/// Sampler kinds, named after their OTEL_TRACES_SAMPLER values.
enum class sampler_kind {
  always_on,
  always_off,
  traceidratio,
  parentbased_always_on,
  parentbased_always_off,
  parentbased_traceidratio,
};

struct sampler {
  sampler_kind kind = sampler_kind::parentbased_always_on;
  double ratio = 1.0;  ///< Fraction of root traces sampled, in [0, 1]. Used by the ratio kinds.
};

/// Builds a sampler from OTEL_TRACES_SAMPLER (`name`) and OTEL_TRACES_SAMPLER_ARG (`arg`).
/// `name` is one of always_on, always_off, traceidratio, parentbased_always_on,
/// parentbased_always_off or parentbased_traceidratio. For the ratio kinds `arg` is a number in
/// [0, 1], and an empty `arg` means 1.0; other kinds ignore `arg`. Throws std::invalid_argument
/// naming the value when `name` is unknown or `arg` is not such a number.
sampler parse_sampler(std::string_view name, std::string_view arg);

/// Decides whether a new span in trace `trace` is recorded and exported. Parent-based kinds
/// follow the sampled flag of `parent` when there is one, local or remote, and otherwise use
/// their root sampler. The ratio decision samples when the last 8 bytes of the trace id, read
/// as a big-endian integer, are below ratio * 2^64, so ratio 1 samples every id and 0 none.
bool should_sample(const sampler& config, const std::optional<span_context>& parent,
                   const trace_id& trace) noexcept;

}  // namespace todo::obs
