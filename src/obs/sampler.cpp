#include "obs/sampler.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

namespace todo::obs {
namespace {

double parse_ratio(std::string_view arg) {
  if (arg.empty()) return 1.0;

  double ratio = 0;
  const auto [end, error] = std::from_chars(arg.data(), arg.data() + arg.size(), ratio);
  const bool whole_text_read = error == std::errc{} && end == arg.data() + arg.size();
  if (!whole_text_read || std::isnan(ratio) || ratio < 0.0 || ratio > 1.0) {
    throw std::invalid_argument("invalid OTEL_TRACES_SAMPLER_ARG \"" + std::string(arg) +
                                "\": expected a number from 0 to 1");
  }
  return ratio;
}

bool sample_by_ratio(double ratio, const trace_id& trace) noexcept {
  if (ratio >= 1.0) return true;
  if (ratio <= 0.0) return false;

  std::uint64_t low_bytes = 0;
  for (std::size_t i = 8; i < 16; ++i) low_bytes = low_bytes << 8 | trace.bytes[i];

  // ratio * 2^64 is below 2^64 here, so the conversion to an integer cannot overflow.
  const auto bound = static_cast<std::uint64_t>(std::ldexp(ratio, 64));
  return low_bytes < bound;
}

}  // namespace

sampler parse_sampler(std::string_view name, std::string_view arg) {
  if (name == "always_on") return {sampler_kind::always_on, 1.0};
  if (name == "always_off") return {sampler_kind::always_off, 1.0};
  if (name == "parentbased_always_on") return {sampler_kind::parentbased_always_on, 1.0};
  if (name == "parentbased_always_off") return {sampler_kind::parentbased_always_off, 1.0};
  if (name == "traceidratio") return {sampler_kind::traceidratio, parse_ratio(arg)};
  if (name == "parentbased_traceidratio") {
    return {sampler_kind::parentbased_traceidratio, parse_ratio(arg)};
  }
  throw std::invalid_argument("invalid OTEL_TRACES_SAMPLER \"" + std::string(name) +
                              "\": expected always_on, always_off, traceidratio, "
                              "parentbased_always_on, parentbased_always_off or "
                              "parentbased_traceidratio");
}

bool should_sample(const sampler& config, const std::optional<span_context>& parent,
                   const trace_id& trace) noexcept {
  switch (config.kind) {
    case sampler_kind::always_on:
      return true;
    case sampler_kind::always_off:
      return false;
    case sampler_kind::traceidratio:
      return sample_by_ratio(config.ratio, trace);
    case sampler_kind::parentbased_always_on:
      if (parent) return parent->sampled();
      return true;
    case sampler_kind::parentbased_always_off:
      if (parent) return parent->sampled();
      return false;
    case sampler_kind::parentbased_traceidratio:
      if (parent) return parent->sampled();
      return sample_by_ratio(config.ratio, trace);
  }
  return false;
}

}  // namespace todo::obs
