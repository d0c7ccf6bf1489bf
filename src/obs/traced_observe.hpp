#pragma once

#include "obs/metrics.hpp"
#include "obs/tracer.hpp"

namespace todo::obs {

/// Observes `value` in `series`, with the span's trace as the exemplar when
/// the span is sampled, so a dashboard can open the trace of a slow bucket.
inline void observe_in_span(histogram& series, double value, const active_span& span) noexcept {
  if (span.sampled()) {
    series.observe(value, exemplar{span.trace_id_hex(), span.span_id_hex(), std::nullopt});
  } else {
    series.observe(value);
  }
}

}  // namespace todo::obs
