#pragma once

#include "queue/reply.hpp"

#include <ostream>

namespace todo::queue {

/// Lets GoogleTest print a reply in failure messages, found by ADL.
inline void PrintTo(const reply& value, std::ostream* out) {
  *out << to_string(value.type);
  switch (value.type) {
    case reply_type::status:
    case reply_type::error:
    case reply_type::bulk_string: *out << " \"" << value.text << "\""; break;
    case reply_type::integer: *out << " " << value.integer; break;
    case reply_type::nil: break;
    case reply_type::array:
      *out << " [";
      for (std::size_t i = 0; i < value.elements.size(); ++i) {
        if (i > 0) *out << ", ";
        PrintTo(value.elements[i], out);
      }
      *out << "]";
      break;
  }
}

}  // namespace todo::queue
