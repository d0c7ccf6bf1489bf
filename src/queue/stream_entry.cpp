#include "queue/stream_entry.hpp"

#include "queue/error.hpp"

namespace todo::queue {

std::vector<stream_entry> parse_stream_entries(const reply& entries, std::string_view command) {
  std::vector<stream_entry> parsed;
  if (entries.is_nil()) return parsed;

  for (const reply& entry : entries.as_array(command)) {
    const auto& parts = entry.as_array(command);
    if (parts.size() != 2) {
      throw error(errc::protocol_error, std::string(command) + ": a stream entry must have an id and fields");
    }
    if (parts[1].is_nil()) continue;

    const auto& flat = parts[1].as_array(command);
    if (flat.size() % 2 != 0) {
      throw error(errc::protocol_error, std::string(command) + ": stream entry " + parts[0].as_string(command) +
                                            " has an odd number of field names and values");
    }

    stream_entry item;
    item.id = parts[0].as_string(command);
    item.fields.reserve(flat.size() / 2);
    for (std::size_t i = 0; i < flat.size(); i += 2) {
      item.fields.emplace_back(flat[i].as_string(command), flat[i + 1].as_string(command));
    }
    parsed.push_back(std::move(item));
  }
  return parsed;
}

void append_fields(std::vector<std::string>& args, const stream_fields& fields) {
  for (const auto& [name, value] : fields) {
    args.push_back(name);
    args.push_back(value);
  }
}

}  // namespace todo::queue
