#include "db/query_span.hpp"

#include <cctype>
#include <charconv>

namespace todo::db {

namespace {

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '"';
}

// Splits `sql` into upper-cased words, skipping punctuation, string literals
// and comments, and stops after `limit` words.
std::vector<std::string> leading_words(std::string_view sql, std::size_t limit) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < sql.size() && words.size() < limit) {
    const char c = sql[i];
    if (c == '\'') {
      const auto end = sql.find('\'', i + 1);
      i = end == std::string_view::npos ? sql.size() : end + 1;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const auto end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
      continue;
    }
    if (!is_word_char(c)) {
      words.emplace_back();  // a separator word keeps "FROM (" apart from "FROM x"
      words.back() = std::string(1, c);
      ++i;
      continue;
    }
    std::string word;
    while (i < sql.size() && is_word_char(sql[i])) word += sql[i++];
    words.push_back(std::move(word));
  }
  return words;
}

std::string upper(std::string_view text) {
  std::string result(text);
  for (auto& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

bool is_name(const std::string& word) {
  return !word.empty() && (std::isalpha(static_cast<unsigned char>(word[0])) != 0 || word[0] == '_' || word[0] == '"');
}

// The first name after `keyword`, when that keyword comes before anything
// that would make the guess unreliable.
std::string name_after(const std::vector<std::string>& words, std::string_view keyword) {
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (upper(words[i]) != keyword) continue;
    std::size_t next = i + 1;
    while (next < words.size() && (words[next] == " " || words[next] == "\n" || words[next] == "\t")) ++next;
    if (next >= words.size() || !is_name(words[next])) return {};
    // A name followed by "(" is a function, such as generate_series(1, 3).
    std::size_t after = next + 1;
    while (after < words.size() && (words[after] == " " || words[after] == "\n" || words[after] == "\t")) ++after;
    if (keyword == "FROM" && after < words.size() && words[after] == "(") return {};
    return words[next];
  }
  return {};
}

}  // namespace

std::string operation_name(std::string_view sql) {
  for (const auto& word : leading_words(sql, 16)) {
    if (is_name(word)) return upper(word);
    if (word != " " && word != "\n" && word != "\t" && word != "\r" && word != "(") return {};
  }
  return {};
}

std::string collection_name(std::string_view sql) {
  const auto operation = operation_name(sql);
  const auto words = leading_words(sql, 400);
  if (operation == "SELECT" || operation == "DELETE") return name_after(words, "FROM");
  if (operation == "INSERT") return name_after(words, "INTO");
  if (operation == "UPDATE") return name_after(words, "UPDATE");
  return {};
}

obs::active_span start_query_span(const obs::trace_parent& parent, std::string_view sql, const query_server& server) {
  if (!parent) return {};
  const auto operation = operation_name(sql);
  const auto table = collection_name(sql);
  std::string name = operation.empty() ? std::string("postgresql") : operation;
  if (!table.empty()) name += " " + table;

  auto span = parent.start_child(name, obs::span_kind::client);
  if (!span.recording()) return span;
  // db.system is the name most backends index today, db.system.name the
  // one of the newer conventions: both are written.
  span.set_attribute("db.system", "postgresql");
  span.set_attribute("db.system.name", "postgresql");
  span.set_attribute("db.namespace", server.database);
  if (!operation.empty()) span.set_attribute("db.operation.name", operation);
  if (!table.empty()) span.set_attribute("db.collection.name", table);
  span.set_attribute("db.query.text", sql);
  if (!server.host.empty()) span.set_attribute("server.address", server.host);
  std::int64_t port = 0;
  const auto [end, ec] = std::from_chars(server.port.data(), server.port.data() + server.port.size(), port);
  if (ec == std::errc{} && port > 0) span.set_attribute("server.port", port);
  return span;
}

void record_query_failure(obs::active_span& span, const error& failure) {
  if (!span.recording()) return;
  std::string type = failure.sqlstate();
  if (type.empty()) type = failure.code_value() == errc::timeout ? "timeout" : "unavailable";
  if (!failure.sqlstate().empty()) span.set_attribute("db.response.status_code", failure.sqlstate());
  span.set_attribute("error.type", type);
  span.set_error(failure.what());
}

}  // namespace todo::db
