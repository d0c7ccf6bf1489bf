#pragma once

// OTLP/HTTP JSON encoding of trace exports, following the JSON Protobuf Encoding section of
// the OTLP specification: lowerCamelCase field names, enums as integers, trace and span ids
// as lowercase hex, and 64-bit integers as decimal strings.

#include "obs/span.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace todo::obs {

/// Attributes of the process that produced the spans.
struct resource_attributes {
  std::string service_name;           ///< Written as the `service.name` attribute.
  std::vector<attribute> attributes;  ///< Written after service.name, in order.
};

/// Encodes `spans` as one ExportTraceServiceRequest body for POST /v1/traces, with one
/// resourceSpans entry holding one scopeSpans entry. parentSpanId is left out for root spans,
/// traceState when empty and status.message when empty. Doubles that are NaN or infinite are
/// written as the strings "NaN", "Infinity" and "-Infinity", as the protobuf JSON mapping
/// requires. Text that is not valid UTF-8 is written with U+FFFD in place of the bad bytes.
std::string encode_export_request(const resource_attributes& resource,
                                  std::string_view scope_name, std::string_view scope_version,
                                  std::span<const span> spans);

}  // namespace todo::obs
