#include "todo/export_csv.hpp"

#include <charconv>

namespace todo::domain {

namespace {

bool starts_like_formula(std::string_view value) {
  if (value.empty()) return false;
  switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

void append_integer(std::string& out, std::int64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

}  // namespace

void append_csv_field(std::string& out, std::string_view value) {
  const bool neutralize = starts_like_formula(value);
  const bool quote = neutralize || value.find_first_of(",\"\r\n") != std::string_view::npos;

  if (!quote) {
    out.append(value);
    return;
  }
  out.push_back('"');
  if (neutralize) out.push_back('\'');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_csv_row(std::string& out, const todo_item& item) {
  append_integer(out, item.id);
  out.push_back(',');
  append_csv_field(out, item.text);
  out.append(item.done ? ",true," : ",false,");
  append_integer(out, item.position);
  out.push_back(',');
  append_csv_field(out, item.created_at);
  out.append("\r\n");
}

}  // namespace todo::domain
