#pragma once

// CLIENT spans of PostgreSQL statements, with the database semantic
// conventions: db.system, db.namespace, db.operation.name, db.collection.name
// and db.query.text. Statements carry values only as $n parameters, so the
// text contains placeholders and never a value.

#include "db/error.hpp"
#include "obs/tracer.hpp"

#include <string>
#include <string_view>

namespace todo::db {

/// Database, host and port of a connection, read once after it connects.
struct query_server {
  std::string database;  ///< db.namespace
  std::string host;      ///< server.address; a socket folder for Unix-domain connections
  std::string port;      ///< server.port, as text
};

/// Returns the first keyword of `sql` in upper case, such as "SELECT" or
/// "BEGIN", or an empty string when there is none.
std::string operation_name(std::string_view sql);

/// The table a simple statement works on: the first name after FROM in a
/// SELECT or DELETE, after INTO in an INSERT, after UPDATE in an UPDATE.
/// Empty when there is none or the statement is not one of these.
std::string collection_name(std::string_view sql);

/// Starts the span of one statement under `parent`, named
/// "{operation} {table}", or "{operation}" without a table. An empty span
/// when `parent` is empty.
obs::active_span start_query_span(const obs::trace_parent& parent, std::string_view sql, const query_server& server);

/// Marks the span failed: error.type is the SQLSTATE, or "timeout" or
/// "unavailable" for errors without one, and the status contains the message.
void record_query_failure(obs::active_span& span, const error& failure);

}  // namespace todo::db
