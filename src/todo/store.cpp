#include "todo/store.hpp"

#include "db/error.hpp"

#include <unordered_set>

namespace todo::domain {

namespace asio = boost::asio;

namespace {

// Selected or returned columns, in the order read_item expects. created_at
// is formatted by PostgreSQL as ISO-8601 UTC with milliseconds.
const std::string item_columns =
    "id, text, done, position, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

const std::string list_sql =
    "SELECT " + item_columns + " FROM todos ORDER BY position ASC, created_at DESC, id DESC";

const std::string find_sql = "SELECT " + item_columns + " FROM todos WHERE id = $1";

const std::string add_sql =
    "INSERT INTO todos (text, position) SELECT $1, COALESCE(MAX(position), 0) + 1 FROM todos RETURNING " +
    item_columns;

const std::string toggle_sql = "UPDATE todos SET done = NOT done WHERE id = $1 RETURNING " + item_columns;

const std::string update_sql =
    "UPDATE todos SET text = COALESCE($2, text), done = COALESCE($3::boolean, done) WHERE id = $1 RETURNING " +
    item_columns;

const std::string remove_sql = "DELETE FROM todos WHERE id = $1";

// add and reorder both compute positions from the whole table, so they take
// this transaction-scoped advisory lock to run one at a time. Without it two
// concurrent adds could read the same maximum and share a position. The key
// is an arbitrary constant that no other code of this service uses.
const std::string position_lock_sql = "SELECT pg_advisory_xact_lock(7415683957250671)";

const std::string lock_rows_sql = "SELECT id FROM todos ORDER BY position ASC, created_at DESC, id DESC FOR UPDATE";

// Sets position to the 1-based index of each id in the array, skipping rows
// that already have it.
const std::string set_positions_sql =
    "UPDATE todos AS t SET position = o.ordinality "
    "FROM unnest($1::bigint[]) WITH ORDINALITY AS o(id, ordinality) "
    "WHERE t.id = o.id AND t.position <> o.ordinality";

// Named parameter lists, because GCC 12 rejects a braced list written
// directly inside a co_await expression ("array used as initializer").
const db::params no_params;

todo_item read_item(const db::result& rows, int row) {
  todo_item item;
  item.id = rows.integer(row, 0);
  item.text = std::string(rows.text(row, 1));
  item.done = rows.boolean(row, 2);
  item.position = rows.integer(row, 3);
  item.created_at = std::string(rows.text(row, 4));
  return item;
}

std::optional<todo_item> first_item(const db::result& rows) {
  if (rows.rows() == 0) return std::nullopt;
  return read_item(rows, 0);
}

// Formats ids as a PostgreSQL array literal such as "{3,1,2}".
std::string array_literal(const std::vector<std::int64_t>& ids) {
  std::string literal = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) literal += ',';
    literal += std::to_string(ids[i]);
  }
  literal += '}';
  return literal;
}

asio::awaitable<todo_item> add_locked(db::connection& conn, const std::string& text,
                                      std::chrono::milliseconds timeout) {
  const db::params parameters{text};
  co_await conn.query(position_lock_sql, no_params, timeout);
  auto rows = co_await conn.query(add_sql, parameters, timeout);
  co_return read_item(rows, 0);
}

// Runs inside the reorder transaction. Returns the ids of `order` that are
// not in the table, in which case nothing is updated.
asio::awaitable<std::vector<std::int64_t>> reorder_locked(db::connection& conn,
                                                          const std::vector<std::int64_t>& order,
                                                          std::chrono::milliseconds timeout) {
  co_await conn.query(position_lock_sql, no_params, timeout);
  auto rows = co_await conn.query(lock_rows_sql, no_params, timeout);

  std::vector<std::int64_t> current;
  current.reserve(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) current.push_back(rows.integer(row, 0));

  const std::unordered_set<std::int64_t> existing(current.begin(), current.end());
  std::vector<std::int64_t> unknown;
  for (auto id : order) {
    if (!existing.contains(id)) unknown.push_back(id);
  }
  if (!unknown.empty()) co_return unknown;

  // The listed ids come first, and every other todo keeps its relative order
  // after them. A repeated id in `order` keeps its first place only.
  std::vector<std::int64_t> final_order;
  final_order.reserve(current.size());
  std::unordered_set<std::int64_t> placed;
  for (auto id : order) {
    if (placed.insert(id).second) final_order.push_back(id);
  }
  for (auto id : current) {
    if (placed.insert(id).second) final_order.push_back(id);
  }

  if (!final_order.empty()) {
    const db::params parameters{array_literal(final_order)};
    co_await conn.query(set_positions_sql, parameters, timeout);
  }
  co_return std::vector<std::int64_t>{};
}

}  // namespace

namespace {

// Parameters by value: the coroutine keeps its own copies.
asio::awaitable<std::shared_ptr<const list_snapshot>> read_snapshot(todo_store store, obs::trace_parent trace) {
  auto items = co_await store.list(trace);
  co_return std::make_shared<const list_snapshot>(std::move(items));
}

}  // namespace

todo_store::todo_store(std::shared_ptr<db::pool> database, std::size_t max_list_reads)
    : database_(std::move(database)) {
  if (max_list_reads > 0) {
    // The store is copied into the handler services; the copies share this.
    list_reads_ = std::make_shared<shared_list>(max_list_reads, [database = database_](const obs::trace_parent& trace) {
      return read_snapshot(todo_store(database), trace);
    });
  }
}

asio::awaitable<todo_store::shared_list::outcome> todo_store::list_shared(const obs::trace_parent& trace) {
  if (list_reads_) co_return co_await list_reads_->get(trace);
  shared_list::outcome own;
  own.value = co_await read_snapshot(*this, trace);
  co_return own;
}

asio::awaitable<std::vector<todo_item>> todo_store::list(const obs::trace_parent& trace) {
  auto rows = co_await database_->query(list_sql, no_params, trace);

  std::vector<todo_item> items;
  items.reserve(static_cast<std::size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) items.push_back(read_item(rows, row));
  co_return items;
}

asio::awaitable<todo_item> todo_store::add(const std::string& text, const obs::trace_parent& trace) {
  const auto timeout = database_->timeout();
  co_return co_await db::with_transaction(
      *database_, trace, [&text, timeout](db::connection& conn) { return add_locked(conn, text, timeout); });
}

asio::awaitable<std::optional<todo_item>> todo_store::find(std::int64_t id, const obs::trace_parent& trace) {
  const db::params parameters{std::to_string(id)};
  auto rows = co_await database_->query(find_sql, parameters, trace);
  co_return first_item(rows);
}

asio::awaitable<std::optional<todo_item>> todo_store::toggle(std::int64_t id, const obs::trace_parent& trace) {
  const db::params parameters{std::to_string(id)};
  auto rows = co_await database_->query(toggle_sql, parameters, trace);
  co_return first_item(rows);
}

asio::awaitable<std::optional<todo_item>> todo_store::update(std::int64_t id, std::optional<std::string> text,
                                                              std::optional<bool> done, const obs::trace_parent& trace) {
  db::params parameters(3);
  parameters[0] = std::to_string(id);
  parameters[1] = std::move(text);
  if (done) parameters[2] = *done ? "true" : "false";

  auto rows = co_await database_->query(update_sql, parameters, trace);
  co_return first_item(rows);
}

asio::awaitable<bool> todo_store::remove(std::int64_t id, const obs::trace_parent& trace) {
  const db::params parameters{std::to_string(id)};
  auto rows = co_await database_->query(remove_sql, parameters, trace);
  co_return rows.affected_rows() > 0;
}

asio::awaitable<std::vector<std::int64_t>> todo_store::reorder(const std::vector<std::int64_t>& order, const obs::trace_parent& trace) {
  const auto timeout = database_->timeout();
  co_return co_await db::with_transaction(
      *database_, trace, [&order, timeout](db::connection& conn) { return reorder_locked(conn, order, timeout); });
}

}  // namespace todo::domain
