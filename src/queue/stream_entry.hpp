#pragma once

#include "queue/reply.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace todo::queue {

/// The field/value pairs of one stream entry, in the order they were written.
using stream_fields = std::vector<std::pair<std::string, std::string>>;

struct stream_entry {
  std::string id;  // such as "1700000000000-0"
  stream_fields fields;
};

/// Parses the entry list [[id, [field, value, ...]], ...] that XRANGE,
/// XREADGROUP and XAUTOCLAIM return. An entry whose fields are nil (one
/// deleted while pending, as Redis 6.2 reports it) is left out. Throws
/// queue::error(protocol_error) for any other shape; `command` names the
/// command in the message.
std::vector<stream_entry> parse_stream_entries(const reply& entries, std::string_view command);

/// Flattens fields into the argument form "field value field value ...".
void append_fields(std::vector<std::string>& args, const stream_fields& fields);

}  // namespace todo::queue
