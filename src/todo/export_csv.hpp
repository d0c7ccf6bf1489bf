#pragma once

#include "todo/todo_item.hpp"

#include <string>
#include <string_view>

namespace todo::domain {

/// The first line of every export, CRLF-terminated.
inline constexpr std::string_view csv_header = "id,text,done,position,created_at\r\n";

/// Appends one todo as a CSV record (RFC 4180: CRLF line ends, fields with a
/// comma, quote, CR or LF are quoted and quotes doubled).
void append_csv_row(std::string& out, const todo_item& item);

/// Appends one field. A value that a spreadsheet would run as a formula
/// (starting with =, +, -, @, tab or CR, as OWASP's CSV injection guidance
/// lists) gets a leading apostrophe, so it is shown as text; every other
/// value is written unchanged.
void append_csv_field(std::string& out, std::string_view value);

}  // namespace todo::domain
